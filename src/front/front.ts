/**
 * The front: Parallama's listening socket. It serves the gateway's hot path itself (a plain
 * HTTP/1.1 request to an Ollama route, with a body of known size within server.max_body_size)
 * and hands every other connection whole to Bun's HTTP server on loopback, which runs the same
 * gateway through Request and Response objects: the own routes (/healthz, /readyz, /metrics,
 * /parallama/*, GET /), chunked or large uploads, Expect, Upgrade, HTTP/1.0, and anything its
 * narrow parser does not take. Both paths share admission and recording (server/exchange.ts).
 */
import type { Socket, TCPSocketListener } from "bun";
import { nextRequestId } from "../server/request-id.ts";
import type { Logger } from "../server/logger.ts";
import { type ClientSide, FrontExchange, type FrontExchangeDeps } from "./exchange.ts";
import { HandOver } from "./handover.ts";
import { CRLF2, parseRequestHead, type RequestHead } from "./http1.ts";
import { Outbox } from "./outbox.ts";

export interface FrontOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string } | null;
  /** Bun's HTTP server on loopback, for what the front hands over. */
  internalPort: number;
  maxBodyBytes: number;
}

/** Bodies the front reads whole before admission; larger ones stream through Bun's server. */
const MAX_FRONT_BODY = 1024 * 1024;
/** A head longer than this goes to Bun's server, which answers 431. */
const MAX_HEAD = 64 * 1024;
/** Bytes of pipelined requests held while one is answered, before reading pauses. */
const MAX_HELD = 1024 * 1024;
/** A keep-alive connection with no request in progress closes after this long. */
const IDLE_S = 120;
const OWN_PATHS = new Set(["/", "/healthz", "/readyz", "/metrics"]);

export class Front {
  private readonly listener: TCPSocketListener<ClientConnection | undefined>;
  private readonly connections = new Set<ClientConnection>();
  draining = false;

  constructor(
    readonly deps: FrontExchangeDeps & { logger: Logger },
    readonly options: FrontOptions,
  ) {
    this.listener = Bun.listen<ClientConnection | undefined>({
      hostname: options.host,
      port: options.port,
      ...(options.tls ? { tls: { cert: Bun.file(options.tls.cert), key: Bun.file(options.tls.key) } } : {}),
      data: undefined,
      socket: {
        open: (socket) => {
          const conn = new ClientConnection(this, socket);
          socket.data = conn;
          this.connections.add(conn);
        },
        data: (socket, chunk) => socket.data!.received(chunk),
        drain: (socket) => socket.data!.drained(),
        timeout: (socket) => socket.data!.timedOut(),
        close: (socket) => socket.data && this.closed(socket.data),
        error: (socket) => socket.data && this.closed(socket.data),
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  /** Exchanges the front is serving now (admission included). */
  get busy(): number {
    let n = 0;
    for (const conn of this.connections) if (conn.busy) n++;
    return n;
  }

  /** Stops accepting; idle connections close now, busy ones after their exchange. */
  drain(): void {
    this.draining = true;
    this.listener.stop(false);
    for (const conn of this.connections) conn.closeIfIdle();
  }

  closeAll(): void {
    for (const conn of this.connections) conn.socket.terminate();
    this.listener.stop(true);
  }

  handsOver(head: RequestHead): boolean {
    return (
      this.draining ||
      OWN_PATHS.has(head.path) ||
      head.path.startsWith("/parallama/") ||
      head.contentLength > Math.min(MAX_FRONT_BODY, this.options.maxBodyBytes)
    );
  }

  private closed(conn: ClientConnection): void {
    this.connections.delete(conn);
    conn.closed();
  }
}

class ClientConnection implements ClientSide {
  readonly address: string;
  private readonly outbox: Outbox;
  private held: Buffer | null = null;
  private exchange: FrontExchange | null = null;
  private handover: HandOver | null = null;
  private closeWhenSent = false;
  private gone = false;

  constructor(
    private readonly front: Front,
    readonly socket: Socket<ClientConnection | undefined>,
  ) {
    this.address = socket.remoteAddress;
    this.outbox = new Outbox(socket);
    socket.setNoDelay(true);
    socket.timeout(IDLE_S);
  }

  get busy(): boolean {
    return this.exchange !== null;
  }

  received(chunk: Buffer): void {
    if (this.handover) return this.handover.fromClient(chunk);
    this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    if (this.exchange) {
      if (this.held.byteLength > MAX_HELD) this.socket.pause();
      return;
    }
    this.next();
  }

  /** Starts the next request held, once it is complete. */
  private next(): void {
    const buf = this.held;
    if (!buf || this.closeWhenSent) return;
    const end = buf.indexOf(CRLF2);
    if (end === -1) {
      if (buf.byteLength > MAX_HEAD) this.handOver();
      return;
    }
    const head = parseRequestHead(buf, end);
    if (!head || this.front.handsOver(head)) return this.handOver();
    const total = end + 4 + head.contentLength;
    if (buf.byteLength < total) return;
    this.held = total < buf.byteLength ? buf.subarray(total) : null;
    this.socket.timeout(0); // a model load, or a long stream, must not meet the idle timeout
    const exchange = new FrontExchange(this.front.deps, this, head, buf.subarray(end + 4, total), nextRequestId());
    this.exchange = exchange;
    exchange.run().catch((err) => {
      this.front.deps.logger.error({ err: String(err), stack: err instanceof Error ? err.stack : undefined }, "front: exchange failed");
      this.socket.terminate();
    });
  }

  private handOver(): void {
    const bytes = this.held!;
    this.held = null;
    this.socket.timeout(0); // Bun's server keeps its own idle timeout from here
    this.handover = new HandOver(this.socket, bytes, this.front.options.internalPort, this.address);
  }

  write(bytes: Uint8Array | string): boolean {
    return this.outbox.write(bytes);
  }

  finished(close: boolean): void {
    this.exchange = null;
    if (this.gone) return;
    if (close || this.front.draining) return this.endWhenSent();
    this.socket.timeout(IDLE_S);
    this.socket.resume();
    this.next();
  }

  cut(): void {
    this.exchange = null;
    this.endWhenSent();
  }

  drained(): void {
    if (this.handover) return this.handover.clientDrained();
    if (!this.outbox.drain()) return;
    if (this.closeWhenSent) this.socket.end();
    else this.exchange?.clientDrained();
  }

  timedOut(): void {
    if (!this.exchange && !this.handover) this.socket.end();
  }

  closeIfIdle(): void {
    if (!this.exchange && !this.handover && !this.held) this.socket.end();
  }

  closed(): void {
    this.gone = true;
    this.handover?.close();
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.clientClosed();
  }

  private endWhenSent(): void {
    this.closeWhenSent = true;
    if (this.outbox.idle) this.socket.end();
  }
}
