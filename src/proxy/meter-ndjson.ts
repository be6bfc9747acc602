// Native NDJSON streams (/api/generate, /api/chat): counts come only on the
// final line ("done":true: prompt_eval_count, eval_count); a mid-stream error
// is a line {"error":"..."} after which Ollama ends the stream.
import { NeedleFinder, ascii, parseJson, startsWithAt, trimNewlines } from "./meter-bytes.ts";
import type { MeterCounts, StreamReader } from "./meter.ts";

const DONE_TRUE = ascii('"done":true');
const ERROR_LINE = ascii('{"error"');

/**
 * Until the final line arrives, completion tokens are the number of content
 * lines seen: Ollama writes about one line per generated token, so an aborted
 * stream is charged for what the client received (prompt tokens stay 0: they
 * are only reported on the final line).
 */
export function nativeStreamReader(): StreamReader {
  const doneFinder = new NeedleFinder(DONE_TRUE);
  const counts: MeterCounts = { promptTokens: 0, completionTokens: 0, complete: false, error: null };
  let contentLines = 0;

  function onFrame(buf: Uint8Array, start: number, frameEnd: number): null {
    const end = trimNewlines(buf, start, frameEnd);
    if (end === start) return null;
    if (startsWithAt(buf, start, ERROR_LINE)) {
      counts.error = errorMessage(parseJson(buf, start, end));
      return null;
    }
    // "done":true may also sit inside tool-call arguments: only a top-level done ends the stream.
    const final = doneFinder.find(buf, start, end) !== -1 ? finalLine(parseJson(buf, start, end)) : null;
    if (final) {
      counts.promptTokens = final.prompt;
      counts.completionTokens = final.completion;
      counts.complete = true;
    } else {
      contentLines++;
      if (!counts.complete) counts.completionTokens = contentLines;
    }
    return null;
  }

  return { onFrame, counts: () => ({ ...counts }) };
}

function finalLine(line: unknown): { prompt: number; completion: number } | null {
  if (typeof line !== "object" || line === null) return null;
  const l = line as Record<string, unknown>;
  if (l.done !== true) return null;
  return { prompt: count(l.prompt_eval_count), completion: count(l.eval_count) };
}

/** A missing or malformed count means 0 (Ollama omits zero metrics). */
export function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

export function errorMessage(body: unknown): string {
  if (typeof body === "object" && body !== null) {
    const error = (body as { error?: unknown }).error;
    if (typeof error === "string") return error;
    if (typeof error === "object" && error !== null) {
      const message = (error as { message?: unknown }).message;
      if (typeof message === "string") return message;
    }
  }
  return "upstream error";
}
