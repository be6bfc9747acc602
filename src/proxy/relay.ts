/**
 * Relays an upstream response body to the client chunk by chunk, through a meter, and reports
 * exactly once how it ended: completed, client aborted, or upstream failed mid-body.
 */
import type { Meter } from "./meter.ts";

export type RelayEnd = "complete" | "client_abort" | "upstream_error";

/**
 * A Bun "direct" body stream: each upstream chunk is written through the meter and flushed to
 * the client before the next is read, so a slow client slows the upstream read (backpressure)
 * and no more than one chunk is held.
 */
export function relayBody(upstream: ReadableStream<Uint8Array>, meter: Meter, onEnd: (end: RelayEnd) => void): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let ended = false;
  const end = (how: RelayEnd) => {
    if (ended) return;
    ended = true;
    onEnd(how);
  };
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: "direct",
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const out = meter.push(value);
          if (out && out.byteLength > 0) {
            await controller.write(out); // waits only while the client's socket is full
            await controller.flush(); // each chunk leaves now, not when a buffer fills
          }
          if (ended) return;
        }
      } catch (err) {
        reader.cancel().catch(() => {});
        end("upstream_error");
        controller.close(err instanceof Error ? err : new Error(String(err))); // the client sees a cut stream, not a clean end
        return;
      }
      const tail = meter.end();
      if (tail && tail.byteLength > 0) controller.write(tail);
      controller.close();
      end("complete");
    },
    cancel() {
      // Cancelling the upstream body closes its connection, so Ollama stops generating.
      reader.cancel().catch(() => {});
      end("client_abort");
    },
  };
  return new ReadableStream(source);
}
