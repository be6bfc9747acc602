/**
 * The floor of Bun's sockets (scripts/bench's "bun-pipe"): each client connection gets its own
 * upstream connection and the bytes pass both ways unread, as a TCP proxy (nginx's stream module)
 * would pass them. No HTTP parsing, no key, no limits, no metering, no log. It is what Parallama's
 * front is built on (Bun.listen, Bun.connect, the same Outbox), so what Parallama costs beyond
 * this is its own JavaScript, and what this costs beyond nginx is Bun's socket layer.
 *   bun scripts/bench-pipe.ts PORT UPSTREAM_URL
 */
import type { Socket } from "bun";
import { Outbox } from "../src/front/outbox.ts";

const [port, upstream] = process.argv.slice(2);
if (!port || !upstream) throw new Error("usage: bun scripts/bench-pipe.ts PORT UPSTREAM_URL");
const target = new URL(upstream);

/** One direction's end: where its bytes go, and what waits until the upstream is connected. */
interface End {
  peer: Socket<End> | null;
  outbox: Outbox | null;
  early: Uint8Array[];
}

function relay(from: Socket<End>, chunk: Uint8Array): void {
  const { outbox } = from.data;
  if (!outbox) {
    from.data.early.push(new Uint8Array(chunk)); // Bun reuses the chunk's memory after the callback
    return;
  }
  if (!outbox.write(chunk)) from.pause();
}

function drained(socket: Socket<End>): void {
  // The socket that drained is the destination of its peer's bytes: the peer may read again.
  if (socket.data.peer?.data.outbox?.drain()) socket.data.peer.resume();
}

function endPeer(socket: Socket<End>): void {
  socket.data.peer?.end();
}

const handlers = {
  data: relay,
  drain: drained,
  close: endPeer,
  error: endPeer,
};

Bun.listen<End>({
  hostname: "127.0.0.1",
  port: Number(port),
  socket: {
    ...handlers,
    async open(client) {
      client.data = { peer: null, outbox: null, early: [] }; // each connection its own, set before any data event
      try {
        const up = await Bun.connect<End>({ hostname: target.hostname, port: Number(target.port), data: { peer: client, outbox: new Outbox(client), early: [] }, socket: handlers });
        up.setNoDelay(true);
        client.setNoDelay(true);
        client.data.peer = up;
        client.data.outbox = new Outbox(up);
        for (const chunk of client.data.early.splice(0)) relay(client, chunk);
      } catch {
        client.end();
      }
    },
  },
});
