/**
 * Relays an upstream response body to the client chunk by chunk, through a meter, and reports
 * exactly once how it ended: completed, client aborted, or upstream failed mid-body.
 */
import type { Meter } from "./meter.ts";

export type RelayEnd = "complete" | "client_abort" | "upstream_error";

/**
 * A body stream that pulls one upstream chunk per client read (so a slow client slows the
 * upstream read: backpressure) and never holds more than the chunk in flight.
 */
export function relayBody(
  upstream: ReadableStream<Uint8Array>,
  meter: Meter,
  onEnd: (end: RelayEnd) => void,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let ended = false;
  const end = (how: RelayEnd) => {
    if (ended) return;
    ended = true;
    onEnd(how);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              const tail = meter.end();
              if (tail && tail.byteLength > 0) controller.enqueue(tail);
              controller.close();
              end("complete");
              return;
            }
            const out = meter.push(value);
            if (out && out.byteLength > 0) {
              controller.enqueue(out);
              return;
            }
          }
        } catch (err) {
          if (ended) return;
          controller.error(err);
          end("upstream_error");
        }
      },
      cancel() {
        // Cancelling the upstream body closes its connection, so Ollama stops generating.
        reader.cancel().catch(() => {});
        end("client_abort");
      },
    },
    { highWaterMark: 0 },
  );
}
