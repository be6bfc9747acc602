// Test fixtures: response bodies byte for byte as Ollama writes them, built
// the way its Go code does (struct field order, omitempty, sorted map keys,
// json.Marshal's HTML escaping, "data: %s\n\n" framing). Sources, ollama/ollama:
// server/routes.go (streamResponse), middleware/openai.go (ChatWriter,
// CompleteWriter), openai/openai.go (chunk structs), openai/responses.go,
// anthropic/anthropic.go (StreamConverter), middleware/anthropic.go (writeSSE).

import type { Meter, MeterCounts } from "./meter.ts";

/** Go's json.Marshal: JSON with <, >, & and U+2028/9 escaped. Key order is the caller's. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export interface Generation {
  model: string;
  /** Content of each streamed token. */
  tokens: string[];
  promptTokens: number;
  completionTokens: number;
}

const CREATED_AT = "2026-11-01T10:00:00.000000000Z";
const CREATED = 1793527200;

/** /api/chat NDJSON: one line per token, then the metrics-only final line. */
export function nativeChat(g: Generation): string {
  const lines = g.tokens.map((t) => goJson({ model: g.model, created_at: CREATED_AT, message: { role: "assistant", content: t }, done: false }));
  lines.push(
    goJson({
      model: g.model,
      created_at: CREATED_AT,
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: "stop",
      total_duration: 912345678,
      load_duration: 12345678,
      prompt_eval_count: g.promptTokens,
      prompt_eval_duration: 2345678,
      eval_count: g.completionTokens,
      eval_duration: 812345678,
    }),
  );
  return lines.map((l) => l + "\n").join("");
}

const sse = (json: string): string => `data: ${json}\n\n`;

/** /v1/chat/completions stream as ChatWriter writes it for the native chat above. */
export function openAiChat(g: Generation, includeUsage: boolean): string {
  const head = { id: "chatcmpl-42", object: "chat.completion.chunk", created: CREATED, model: g.model, system_fingerprint: "fp_ollama" };
  let out = g.tokens
    .map((t, i) => sse(goJson({ ...head, choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: t } : { content: t }, finish_reason: null }] })))
    .join("");
  out += sse(goJson({ ...head, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
  if (includeUsage) out += sse(goJson({ ...head, choices: [], usage: usage(g) }));
  return out + "data: [DONE]\n\n";
}

/** /v1/completions stream as CompleteWriter writes it: the final native response becomes a chunk too. */
export function openAiCompletions(g: Generation, includeUsage: boolean): string {
  const head = { id: "cmpl-7", object: "text_completion", created: CREATED };
  const tail = { model: g.model, system_fingerprint: "fp_ollama" };
  const zero = includeUsage ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } : {};
  const texts: [string, string | null][] = [...g.tokens.map((t): [string, null] => [t, null]), ["", "stop"]];
  let out = texts.map(([text, reason]) => sse(goJson({ ...head, choices: [{ text, index: 0, finish_reason: reason }], ...tail, ...zero }))).join("");
  if (includeUsage) out += sse(goJson({ ...head, choices: [], ...tail, usage: usage(g) }));
  return out + "data: [DONE]\n\n";
}

function usage(g: Generation): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens, total_tokens: g.promptTokens + g.completionTokens };
}

const named = (event: string, json: string): string => `event: ${event}\ndata: ${json}\n\n`;

/** /v1/responses stream: maps, so Go sorts the keys; "usage" is null until response.completed. */
export function responsesStream(g: Generation): string {
  const response = (status: string, u: unknown) => ({ id: "resp_1", model: g.model, object: "response", output: [], status, usage: u });
  let seq = 0;
  const event = (type: string, data: Record<string, unknown>) => named(type, goJson(sortKeys({ ...data, sequence_number: seq++, type })));
  let out = event("response.created", { response: response("in_progress", null) });
  out += event("response.in_progress", { response: response("in_progress", null) });
  for (const t of g.tokens) out += event("response.output_text.delta", { content_index: 0, delta: t, item_id: "msg_1", logprobs: [], output_index: 0 });
  const u = { input_tokens: g.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: g.completionTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: g.promptTokens + g.completionTokens };
  return out + event("response.completed", { response: response("completed", u) });
}

/** /v1/messages stream; message_start's input_tokens is Ollama's estimate from the request. */
export function anthropicStream(g: Generation, estimatedInput: number): string {
  let out = named("message_start", goJson({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: g.model, content: [], usage: { input_tokens: estimatedInput, output_tokens: 0 } } }));
  out += named("content_block_start", goJson({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }));
  for (const t of g.tokens) out += named("content_block_delta", goJson({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } }));
  out += named("content_block_stop", goJson({ type: "content_block_stop", index: 0 }));
  out += named("message_delta", goJson({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { input_tokens: g.promptTokens, output_tokens: g.completionTokens } }));
  return out + named("message_stop", goJson({ type: "message_stop" }));
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    out[key] = typeof v === "object" && v !== null && !Array.isArray(v) ? sortKeys(v as Record<string, unknown>) : v;
  }
  return out;
}

export interface Fed {
  out: string;
  counts: MeterCounts;
  /** Every push returned the chunk it was given (nothing copied or edited). */
  passedThrough: boolean;
}

/** Feeds chunks to a meter as the relay does; `ended: false` models an abort. */
export function feed(meter: Meter, chunks: Uint8Array[], ended = true): Fed {
  const decoder = new TextDecoder();
  const parts: Uint8Array[] = [];
  let passedThrough = true;
  for (const chunk of chunks) {
    const out = meter.push(chunk);
    if (out !== chunk) passedThrough = false;
    if (out) parts.push(out);
  }
  if (ended) {
    const tail = meter.end();
    if (tail) parts.push(tail);
  }
  return { out: parts.map((p) => decoder.decode(p)).join(""), counts: meter.counts(), passedThrough };
}

/** The body cut in two at `at`. */
export function splitAt(body: Uint8Array, at: number): Uint8Array[] {
  return [body.slice(0, at), body.slice(at)];
}

/** The body in chunks of `size` bytes. */
export function chunksOf(body: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.slice(i, i + size));
  return out;
}

/** The body in chunks as Ollama flushes it: one per line or event. */
export function framesOf(body: string, delimiter: "\n" | "\n\n"): Uint8Array[] {
  return body
    .split(delimiter)
    .slice(0, -1)
    .map((f) => bytes(f + delimiter));
}
