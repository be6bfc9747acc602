/**
 * POST /v1/responses, after Ollama's ResponsesWriter and ResponsesStreamConverter: `event:` lines,
 * a sequence_number on every event, and usage (input/output/total tokens) on response.completed.
 * Ollama builds the streamed events from Go maps, so their keys come out sorted; the non-streamed
 * answer is a struct and keeps declaration order.
 */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { type Final, type Generation, planGeneration } from "../generation.ts";
import { gateModel, MISSING_REQUIRED } from "../gate.ts";
import { encoderJson, openaiError } from "../http.ts";
import { type Identity, identityFor } from "../identity.ts";
import { completeGeneration, type StreamFormat, streamGeneration } from "../stream.ts";
import { SSE } from "./sse.ts";

type Json = Record<string, unknown>;

export const responsesHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  const gate = gateModel(name, { kind: "chat", missing: MISSING_REQUIRED });
  if (gate.status !== undefined) return openaiError(gate.status, gate.message);
  const gen = planGeneration(ctx, gate.model, name, body.max_output_tokens);
  const identity = identityFor(ctx, `resp|${name}`);
  const ids = { response: `resp_${identity.longId}`, item: `msg_${(identity.longId * 7 + 1) % 999999}` };
  if (body.stream === true) return streamGeneration(ctx, gen, responsesFormat(gen, identity, ids, body));
  return completeGeneration(ctx, gen, (final) => encoderJson(200, response(gen, identity, ids, body, final)), (m) => openaiError(500, m));
};

interface Ids {
  response: string;
  item: string;
}

function responsesFormat(gen: Generation, identity: Identity, ids: Ids, request: Json): StreamFormat {
  const base = (status: string, output: unknown[], usage: unknown) => responseObject(gen, identity, ids, request, status, output, usage);
  const event = (type: string, sequence: number, data: Json) =>
    `event: ${type}\ndata: ${sortedJson({ ...data, type, sequence_number: sequence })}\n\n`;
  const opening = () =>
    event("response.created", 0, { response: base("in_progress", [], null) }) +
    event("response.in_progress", 1, { response: base("in_progress", [], null) });
  const part = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });
  const item = (text: string) => ({ id: ids.item, type: "message", status: "completed", role: "assistant", content: [part(text)] });
  const where = { item_id: ids.item, output_index: 0, content_index: 0 };
  return {
    contentType: SSE,
    headers: { "cache-control": "no-cache" },
    cacheKey: identity.cacheKey,
    token: (text, index) => {
      const start =
        index === 0
          ? opening() +
            event("response.output_item.added", 2, {
              output_index: 0,
              item: { id: ids.item, type: "message", status: "in_progress", role: "assistant", content: [] },
            }) +
            event("response.content_part.added", 3, { ...where, part: part("") })
          : "";
      return `${start}${event("response.output_text.delta", 4 + index, { ...where, delta: text, logprobs: [] })}`;
    },
    close: (final) => {
      const n = final.evalCount;
      const usage = { ...usageOf(final), input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };
      const completed = (sequence: number, output: unknown[]) =>
        event("response.completed", sequence, { response: { ...base("completed", output, usage), completed_at: Math.floor(Date.now() / 1000) } });
      if (n === 0) return opening() + completed(2, []);
      return (
        event("response.output_text.done", n + 4, { ...where, text: final.text, logprobs: [] }) +
        event("response.content_part.done", n + 5, { ...where, part: part(final.text) }) +
        event("response.output_item.done", n + 6, { output_index: 0, item: item(final.text) }) +
        completed(n + 7, [item(final.text)])
      );
    },
    // The {"error"} line converts to no event at all: the stream just ends.
    fail: () => "",
  };
}

function responseObject(gen: Generation, identity: Identity, ids: Ids, request: Json, status: string, output: unknown[], usage: unknown): Json {
  return {
    id: ids.response,
    object: "response",
    created_at: identity.unix,
    completed_at: null,
    status,
    incomplete_details: null,
    model: gen.model,
    previous_response_id: null,
    instructions: stringField(request, "instructions") || null,
    output,
    error: null,
    tools: Array.isArray(request.tools) ? request.tools : [],
    tool_choice: "auto",
    truncation: stringField(request, "truncation") || "disabled",
    parallel_tool_calls: true,
    text: { format: { type: "text" } },
    top_p: typeof request.top_p === "number" ? request.top_p : 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    top_logprobs: 0,
    temperature: typeof request.temperature === "number" ? request.temperature : 1,
    reasoning: null,
    usage,
    max_output_tokens: typeof request.max_output_tokens === "number" ? request.max_output_tokens : null,
    max_tool_calls: null,
    store: false,
    background: request.background === true,
    service_tier: "default",
    metadata: {},
    safety_identifier: null,
    prompt_cache_key: null,
  };
}

function response(gen: Generation, identity: Identity, ids: Ids, request: Json, final: Final): Json {
  const output = [
    {
      id: ids.item,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: final.text, annotations: [], logprobs: [] }],
    },
  ];
  const usage = { ...usageOf(final), input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };
  return { ...responseObject(gen, identity, ids, request, "completed", output, usage), completed_at: Math.floor(Date.now() / 1000) };
}

function usageOf(final: Final): Json {
  return { input_tokens: final.promptTokens, output_tokens: final.evalCount, total_tokens: final.promptTokens + final.evalCount };
}

/** JSON with object keys sorted, as Go's encoding/json writes a map. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
