/**
 * POST /v1/completions, after Ollama's CompleteWriter: one chunk per token, then a chunk with empty
 * text and the finish reason. With stream_options.include_usage every chunk carries a zeroed
 * `usage` and a final `choices: []` chunk carries the real one; then `data: [DONE]`.
 */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { type Final, type Generation, planGeneration } from "../generation.ts";
import { gateModel, MISSING_NOT_FOUND } from "../gate.ts";
import { encoderJson, openaiError } from "../http.ts";
import { type Identity, identityFor } from "../identity.ts";
import { completeGeneration, type StreamFormat, streamGeneration } from "../stream.ts";
import { usage } from "./chat-completions.ts";
import { DONE, dataEvent, SSE, usageJson, ZERO_USAGE } from "./sse.ts";

export const completionsHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  const gate = gateModel(name, { kind: "generate", missing: MISSING_NOT_FOUND });
  if (gate.status !== undefined) return openaiError(gate.status, gate.message);
  const gen = planGeneration(ctx, gate.model, name, body.max_tokens);
  if (body.stream === true) {
    const options = body.stream_options as Record<string, unknown> | null | undefined;
    const includeUsage = options?.include_usage === true;
    return streamGeneration(ctx, gen, completionChunkFormat(gen, identityFor(ctx, `cmpl|${name}|${includeUsage}`), includeUsage));
  }
  const identity = identityFor(ctx, `cmpl|${name}`);
  return completeGeneration(ctx, gen, (final) => encoderJson(200, completion(gen, identity, final)), (m) => openaiError(500, m));
};

function completionChunkFormat(gen: Generation, identity: Identity, includeUsage: boolean): StreamFormat {
  // Unlike chat, each completion chunk is stamped with its own time.
  const created = () => (identity.cacheKey === undefined ? Math.floor(Date.now() / 1000) : identity.unix);
  const chunk = (model: string, choices: string, usage: string) =>
    dataEvent(
      `{"id":"cmpl-${identity.id}","object":"text_completion","created":${created()},"choices":[${choices}],"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama"${usage ? `,"usage":${usage}` : ""}}`,
    );
  const choice = (text: string, finish: string | null) =>
    `{"text":${JSON.stringify(text)},"index":0,"finish_reason":${finish === null ? "null" : `"${finish}"`}}`;
  const zero = includeUsage ? ZERO_USAGE : "";
  return {
    contentType: SSE,
    cacheKey: identity.cacheKey,
    token: (text) => chunk(gen.model, choice(text, null), zero),
    close: (final) => {
      const finish = chunk(gen.model, choice("", final.doneReason), zero);
      const real = includeUsage ? chunk(gen.model, "", usageJson(final.promptTokens, final.evalCount)) : "";
      return finish + real + DONE;
    },
    // The {"error"} line parses as an empty response: one empty chunk with no model, and no [DONE].
    fail: () => chunk("", choice("", null), zero),
  };
}

function completion(gen: Generation, identity: Identity, final: Final): Record<string, unknown> {
  return {
    id: `cmpl-${identity.id}`,
    object: "text_completion",
    created: identity.unix,
    model: gen.model,
    system_fingerprint: "fp_ollama",
    choices: [{ text: final.text, index: 0, finish_reason: final.doneReason }],
    usage: usage(final),
  };
}
