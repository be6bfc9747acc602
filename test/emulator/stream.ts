/**
 * Delivery of a generation: chunk by chunk with the configured delays (each chunk enqueued on its
 * own, so a proxy's buffering shows), or as one answer after the same total time.
 */
import type { RequestContext } from "./context.ts";
import { type Final, type Generation, finalOf } from "./generation.ts";
import { MIDSTREAM_ERROR } from "./models.ts";

/** How one endpoint frames a streamed generation. */
export interface StreamFormat {
  contentType: string;
  /** Further response headers (the Responses and Anthropic middlewares add Cache-Control). */
  headers?: Record<string, string>;
  /** The frame(s) for content token `index`; the first token's also carries any opening events. */
  token(text: string, index: number): string;
  /** The frame(s) after the last token, carrying the counts. */
  close(final: Final): string;
  /** What Ollama writes when the runner fails mid-stream ("" when the stream just ends). */
  fail(message: string): string;
  /** Set in fast mode: token frames are encoded once per key and chunk count, then reused. */
  cacheKey?: string;
}

const encoder = new TextEncoder();
const frameCache = new Map<string, Uint8Array[]>();

/** Streams a generation; headers go out with the first chunk, after the model-load wait, as in Ollama. */
export async function streamGeneration(ctx: RequestContext, gen: Generation, format: StreamFormat): Promise<Response> {
  ctx.streaming = true;
  const signal = ctx.request.signal;
  await wait(gen.behaviour.firstTokenDelayMs, signal);
  if (signal.aborted) return new Response(null);
  gen.loadedAt = performance.now();
  const frames = cachedFrames(gen, format);
  const count = gen.tokens.length;
  const end = gen.failAfter ?? count;
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index > 0 && index < count) await wait(gen.behaviour.chunkDelayMs, signal);
      if (signal.aborted) return;
      if (index < end) {
        // Built at send time (outside fast mode) so each chunk carries its own timestamp.
        controller.enqueue(frames?.[index] ?? encoder.encode(format.token(gen.tokens[index] as string, index)));
        index++;
        return;
      }
      const last = gen.failAfter === undefined ? format.close(finalOf(gen)) : format.fail(MIDSTREAM_ERROR);
      if (last) controller.enqueue(encoder.encode(last));
      controller.close();
      ctx.recorder.finish(ctx.entry);
    },
    cancel() {
      ctx.recorder.abort(ctx.entry);
    },
  });
  return new Response(body, { headers: { ...format.headers, "content-type": format.contentType } });
}

/**
 * Answers a non-streamed generation after the time the stream would have taken; a midstream
 * failure becomes `failure`, as Ollama turns a runner error into an error status when not streaming.
 */
export async function completeGeneration(
  ctx: RequestContext,
  gen: Generation,
  render: (final: Final) => Response,
  failure: (message: string) => Response,
): Promise<Response> {
  const signal = ctx.request.signal;
  await wait(gen.behaviour.firstTokenDelayMs, signal);
  gen.loadedAt = performance.now();
  await wait(gen.behaviour.chunkDelayMs * Math.max(0, gen.tokens.length - 1), signal);
  if (gen.failAfter !== undefined) return failure(MIDSTREAM_ERROR);
  return render(finalOf(gen));
}

function cachedFrames(gen: Generation, format: StreamFormat): Uint8Array[] | undefined {
  if (format.cacheKey === undefined) return undefined;
  const key = `${format.cacheKey}|${gen.tokens.length}`;
  let frames = frameCache.get(key);
  if (!frames) {
    frames = gen.tokens.map((text, i) => encoder.encode(format.token(text, i)));
    frameCache.set(key, frames);
  }
  return frames;
}

/** Sleeps, waking early when the client goes away. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
