/**
 * Keep-alive connections to the upstream Ollama, on the event loop's own thread. One exchange
 * owns a connection at a time; a connection goes back to the pool only after its response was
 * read to the end, and a connection idle past IDLE_MS is closed instead of reused, so a request
 * rarely meets one the upstream has just closed (the exchange retries that case once).
 */
import type { Socket } from "bun";

/** What the exchange that owns a connection hears from it. */
export interface UpstreamHandler {
  data(chunk: Buffer): void;
  /** The socket took everything written so far. */
  drain(): void;
  /** The connection closed or failed. */
  closed(): void;
}

const IDLE_MS = 4000;
const MAX_IDLE = 256;

export class UpstreamConnection {
  handler: UpstreamHandler | null = null;
  idleSince = 0;
  /** Exchanges this connection served before the current one. */
  served = 0;
  open = true;
  socket!: Socket<UpstreamConnection>;
}

export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly hostname: string;
  private readonly port: number;
  private readonly tls: boolean;

  constructor(url: URL) {
    this.tls = url.protocol === "https:";
    this.hostname = url.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(url.port || (this.tls ? 443 : 80));
  }

  /** An idle connection, or a new one (rejects when the upstream cannot be reached). */
  acquire(): Promise<UpstreamConnection> | UpstreamConnection {
    const now = performance.now();
    for (let conn = this.idle.pop(); conn; conn = this.idle.pop()) {
      if (conn.open && now - conn.idleSince < IDLE_MS) return conn;
      conn.socket.terminate();
    }
    return this.connect();
  }

  /** Returns a connection whose exchange read its response to the end. */
  release(conn: UpstreamConnection): void {
    conn.handler = null;
    conn.served++;
    if (!conn.open) return;
    if (this.idle.length >= MAX_IDLE) {
      conn.socket.end();
      return;
    }
    conn.idleSince = performance.now();
    this.idle.push(conn);
  }

  close(): void {
    for (const conn of this.idle.splice(0)) conn.socket.terminate();
  }

  private async connect(): Promise<UpstreamConnection> {
    const conn = new UpstreamConnection();
    conn.socket = await Bun.connect<UpstreamConnection>({
      hostname: this.hostname,
      port: this.port,
      tls: this.tls,
      data: conn,
      socket: {
        data: (_socket, chunk) => {
          if (conn.handler) conn.handler.data(chunk);
          else conn.socket.terminate(); // bytes nobody asked for: the connection's state is unknown
        },
        drain: () => conn.handler?.drain(),
        close: () => this.lost(conn),
        error: () => this.lost(conn),
      },
    });
    conn.socket.setNoDelay(true);
    return conn;
  }

  private lost(conn: UpstreamConnection): void {
    if (!conn.open) return;
    conn.open = false;
    const at = this.idle.indexOf(conn);
    if (at !== -1) this.idle.splice(at, 1);
    conn.handler?.closed();
  }
}
