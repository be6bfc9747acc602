/**
 * A TCP relay for tests that need a service to vanish and come back (PostgreSQL down during
 * traffic) without touching the real server. pause() drops every open connection and refuses
 * new ones; resume() listens again on the same port.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
  port: number;
  /** "127.0.0.1:PORT", to put in a URL in place of the target's host and port. */
  address: string;
  pause(): void;
  resume(): void;
  stop(): void;
}

interface Link {
  /** The other side of this connection, once connected. */
  peer: Socket<Link> | null;
  /** Bytes waiting for the peer to connect or to drain. */
  pending: Buffer[];
  closed: boolean;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const links = new Set<Socket<Link>>();
  const track = (socket: Socket<Link>) => links.add(socket);
  const drop = (socket: Socket<Link>) => {
    links.delete(socket);
    if (socket.data.closed) return;
    socket.data.closed = true;
    socket.data.peer?.end();
  };

  const listen = (port: number): TCPSocketListener<Link> =>
    Bun.listen<Link>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(client) {
          client.data = { peer: null, pending: [], closed: false };
          track(client);
          connectUpstream(client, targetHost, targetPort, track, drop);
        },
        data: (client, chunk) => forward(client, chunk),
        drain: flushPending,
        close: drop,
        error: drop,
      },
    });

  let listener: TCPSocketListener<Link> | null = listen(0);
  const port = listener.port;

  // Closing the listening socket makes new connections fail at once with ECONNREFUSED, as when
  // the server is down; a listener that accepted and closed would leave clients to time out.
  const pause = () => {
    listener?.stop(true);
    listener = null;
    for (const socket of [...links]) {
      socket.data.closed = true;
      socket.terminate();
    }
    links.clear();
  };

  return {
    port,
    address: `127.0.0.1:${port}`,
    pause,
    resume() {
      listener ??= listen(port);
    },
    stop: pause,
  };
}

function connectUpstream(
  client: Socket<Link>,
  host: string,
  port: number,
  track: (s: Socket<Link>) => void,
  drop: (s: Socket<Link>) => void,
): void {
  Bun.connect<Link>({
    hostname: host,
    port,
    data: { peer: client, pending: [], closed: false },
    socket: {
      open(upstream) {
        if (client.data.closed) return void upstream.terminate();
        track(upstream);
        client.data.peer = upstream;
        // Bytes the client sent before the upstream answered (PostgreSQL's startup message).
        flushTo(upstream, client.data.pending);
      },
      data: (upstream, chunk) => forward(upstream, chunk),
      drain: flushPending,
      close: drop,
      error: drop,
    },
  }).catch(() => client.end());
}

/** Sends a chunk to the other side, or keeps it until that side exists or drains. */
function forward(from: Socket<Link>, chunk: Buffer): void {
  const peer = from.data.peer;
  // Bun reuses the chunk's memory after the callback: keep a copy.
  if (!peer) return void from.data.pending.push(Buffer.from(chunk));
  const queue = from.data.pending;
  if (queue.length > 0) return void queue.push(Buffer.from(chunk));
  const written = peer.write(chunk);
  if (written < chunk.length) queue.push(Buffer.from(chunk.subarray(written)));
}

/** The socket drained: send what its peer queued for it. */
function flushPending(socket: Socket<Link>): void {
  const peer = socket.data.peer;
  if (peer) flushTo(socket, peer.data.pending);
}

function flushTo(socket: Socket<Link>, queue: Buffer[]): void {
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      queue[0] = chunk.subarray(written);
      return;
    }
    queue.shift();
  }
}
