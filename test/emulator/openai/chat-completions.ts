/**
 * POST /v1/chat/completions, after Ollama's middleware/openai.go ChatWriter: a role-carrying first
 * chunk, content chunks, a finish chunk with an empty delta, then (only with
 * stream_options.include_usage) a `choices: []` chunk with usage, then `data: [DONE]`. Every chunk
 * of a stream carries the same `created`.
 */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import type { Final, Generation } from "../generation.ts";
import { planGeneration } from "../generation.ts";
import { gateModel, MISSING_REQUIRED } from "../gate.ts";
import { encoderJson, openaiError } from "../http.ts";
import { type Identity, identityFor } from "../identity.ts";
import { completeGeneration, type StreamFormat, streamGeneration } from "../stream.ts";
import { DONE, dataEvent, SSE, usageJson } from "./sse.ts";

export const chatCompletionsHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  if (!Array.isArray(body.messages) || body.messages.length === 0) return openaiError(400, "[] is too short - 'messages'");
  const name = stringField(body, "model");
  const gate = gateModel(name, { kind: "chat", missing: MISSING_REQUIRED });
  if (gate.status !== undefined) return openaiError(gate.status, gate.message);
  const gen = planGeneration(ctx, gate.model, name, body.max_tokens);
  const identity = identityFor(ctx, `chatcmpl|${name}`);
  if (body.stream === true) {
    const options = body.stream_options as Record<string, unknown> | null | undefined;
    return streamGeneration(ctx, gen, chatChunkFormat(gen, identity, options?.include_usage === true));
  }
  return completeGeneration(ctx, gen, (final) => encoderJson(200, completion(gen, identity, final)), (m) => openaiError(500, m));
};

function chatChunkFormat(gen: Generation, identity: Identity, includeUsage: boolean): StreamFormat {
  const prefix = (model: string) =>
    `{"id":"chatcmpl-${identity.id}","object":"chat.completion.chunk","created":${identity.unix},"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama","choices":[`;
  const content = (text: string, first: boolean) =>
    `{"index":0,"delta":{${first ? `"role":"assistant",` : ""}"content":${JSON.stringify(text)}},"finish_reason":null}]}`;
  return {
    contentType: SSE,
    cacheKey: identity.cacheKey,
    token: (text, index) => dataEvent(prefix(gen.model) + content(text, index === 0)),
    close: (final) => {
      // A wholly empty completion still opens with a role chunk; otherwise the empty trailer is skipped.
      const opening = final.evalCount === 0 ? dataEvent(prefix(gen.model) + content("", true)) : "";
      const finish = dataEvent(`${prefix(gen.model)}{"index":0,"delta":{},"finish_reason":"${final.doneReason}"}]}`);
      const usage = includeUsage ? dataEvent(`${prefix(gen.model)}],"usage":${usageJson(final.promptTokens, final.evalCount)}}`) : "";
      return opening + finish + usage + DONE;
    },
    // Ollama's writer parses the {"error"} line as an empty response: one empty chunk with no model, and no [DONE].
    fail: () => dataEvent(prefix("") + content("", gen.failAfter === 0)),
  };
}

function completion(gen: Generation, identity: Identity, final: Final): Record<string, unknown> {
  return {
    id: `chatcmpl-${identity.id}`,
    object: "chat.completion",
    created: identity.unix,
    model: gen.model,
    system_fingerprint: "fp_ollama",
    choices: [{ index: 0, message: { role: "assistant", content: final.text }, finish_reason: final.doneReason }],
    usage: usage(final),
  };
}

export function usage(final: Final): Record<string, number> {
  return {
    prompt_tokens: final.promptTokens,
    completion_tokens: final.evalCount,
    total_tokens: final.promptTokens + final.evalCount,
  };
}
