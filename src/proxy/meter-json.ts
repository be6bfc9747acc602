// Non-streaming JSON bodies. They are small, so chunks are passed through as
// they arrive and a copy is parsed once at the end. The count fields of every
// endpoint differ by name, so one reader covers them all:
// - /api/generate, /api/chat: prompt_eval_count, eval_count
// - /api/embed: prompt_eval_count; /api/embeddings: none
// - /v1/chat/completions, /v1/completions: usage.prompt_tokens, usage.completion_tokens
// - /v1/embeddings: usage.prompt_tokens
// - /v1/responses, /v1/messages: usage.input_tokens, usage.output_tokens
// - error bodies: {"error":"..."} or {"error":{"message":"..."}}
import { concatBytes, parseJson } from "./meter-bytes.ts";
import type { Meter, MeterCounts } from "./meter.ts";
import { count, errorMessage } from "./meter-ndjson.ts";

export function jsonBodyMeter(): Meter {
  const parts: Uint8Array[] = [];
  let length = 0;
  let counts: MeterCounts = { promptTokens: 0, completionTokens: 0, complete: false, error: null };
  // A copy: the forwarded bytes belong to the client side from here on.
  const keep = (buf: Uint8Array, start: number, end: number) => {
    parts.push(buf.slice(start, end));
    length += end - start;
  };
  return {
    push(buf, start = 0, end = buf.length) {
      keep(buf, start, end);
      return buf;
    },
    read: keep,
    end() {
      const body = concatBytes(parts, length);
      parts.length = 0;
      counts = readBody(parseJson(body, 0, body.length));
      return null;
    },
    whole(body) {
      counts = readBody(parseJson(body, 0, body.length)); // already whole: no copy
      return body;
    },
    counts: () => ({ ...counts }),
  };
}

function readBody(body: unknown): MeterCounts {
  if (typeof body !== "object" || body === null) {
    return { promptTokens: 0, completionTokens: 0, complete: false, error: null };
  }
  const b = body as Record<string, unknown>;
  const error = "error" in b ? errorMessage(b) : null;
  const usage = (typeof b.usage === "object" && b.usage !== null ? b.usage : {}) as Record<string, unknown>;
  return {
    promptTokens: count(b.prompt_eval_count) || count(usage.prompt_tokens) || count(usage.input_tokens),
    completionTokens: count(b.eval_count) || count(usage.completion_tokens) || count(usage.output_tokens),
    complete: true,
    error,
  };
}
