// OpenAI-compatible SSE streams (/v1/chat/completions, /v1/completions).
//
// What Ollama adds for stream_options.include_usage (middleware/openai.go,
// ChatWriter and CompleteWriter; usage is the last field of both chunk structs):
// - chat: one extra event after the finish chunk, the finish chunk again with
//   "choices":[] and "usage":{...}, before data: [DONE];
// - completions: every chunk ends with
//   ,"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}
//   and the done chunk is followed by one extra event with "choices":[] and the
//   real usage, before data: [DONE].
// Stripping removes exactly those bytes, so the client gets what Ollama sends
// without include_usage.
import { NeedleFinder, ascii, endsWithAt, parseJson, startsWithAt, trimNewlines } from "./meter-bytes.ts";
import type { Cut } from "./meter-frames.ts";
import type { MeterCounts, StreamReader } from "./meter.ts";
import { count, errorMessage } from "./meter-ndjson.ts";

const DATA = ascii("data: ");
const DONE = ascii("data: [DONE]");
const DATA_OBJECT = ascii("data: {");
const DATA_ERROR = ascii('data: {"error"');
const USAGE = ascii('"usage":');
const EMPTY_CHOICES = ascii('"choices":[]');
const ZERO_USAGE = ascii(',"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}');

export type OpenAiStream = "chat" | "completions";

/**
 * Without a usage event (an aborted stream, or an upstream that ignores
 * include_usage), completion tokens are the number of content chunks seen.
 */
export function openAiStreamReader(stream: OpenAiStream, strip: boolean): StreamReader {
  const usageFinder = new NeedleFinder(USAGE);
  const emptyChoicesFinder = new NeedleFinder(EMPTY_CHOICES);
  const counts: MeterCounts = { promptTokens: 0, completionTokens: 0, complete: false, error: null };
  let contentChunks = 0;
  let sawUsage = false;

  function contentChunk(): void {
    contentChunks++;
    if (!sawUsage) counts.completionTokens = contentChunks;
  }

  function onFrame(buf: Uint8Array, start: number, frameEnd: number): Cut | null {
    const end = trimNewlines(buf, start, frameEnd);
    if (startsWithAt(buf, start, DONE)) {
      counts.complete = true;
      return null;
    }
    if (!startsWithAt(buf, start, DATA_OBJECT)) return null;
    if (startsWithAt(buf, start, DATA_ERROR)) {
      counts.error = errorMessage(parseJson(buf, start + DATA.length, end));
      return null;
    }
    if (usageFinder.find(buf, start, end) === -1) {
      contentChunk();
      return null;
    }
    const usageEvent = emptyChoicesFinder.find(buf, start, end) !== -1;
    if (!usageEvent) {
      contentChunk();
      // Only completions chunks carry a usage object besides the usage event: the zeroed one.
      const zeroed = stream === "completions" && endsWithAt(buf, end, ZERO_USAGE);
      return strip && zeroed ? { from: end - ZERO_USAGE.length, to: end - 1 } : null;
    }
    readUsage(parseJson(buf, start + DATA.length, end));
    return strip ? { from: start, to: frameEnd } : null;
  }

  function readUsage(chunk: unknown): void {
    const usage = (chunk as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | undefined)?.usage;
    if (!usage) return;
    sawUsage = true;
    counts.promptTokens = count(usage.prompt_tokens);
    counts.completionTokens = count(usage.completion_tokens);
  }

  return { onFrame, counts: () => ({ ...counts }) };
}
