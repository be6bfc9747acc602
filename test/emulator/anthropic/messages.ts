/**
 * POST /v1/messages, after Ollama's AnthropicWriter and anthropic.StreamConverter: message_start
 * (its input_tokens only an estimate, len/4 of the text), one text block, message_delta with the
 * real usage, message_stop. No ping events.
 */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { type Final, type Generation, planGeneration } from "../generation.ts";
import { gateModel, MISSING_REQUIRED } from "../gate.ts";
import { anthropicError, encoderJson } from "../http.ts";
import { type Identity, identityFor } from "../identity.ts";
import { completeGeneration, type StreamFormat, streamGeneration } from "../stream.ts";
import { SSE } from "../openai/sse.ts";

export const messagesHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  if (name === "") return anthropicError(400, "model is required");
  if (typeof body.max_tokens !== "number" || body.max_tokens <= 0) return anthropicError(400, "max_tokens is required and must be positive");
  if (!Array.isArray(body.messages) || body.messages.length === 0) return anthropicError(400, "messages is required");
  const gate = gateModel(name, { kind: "chat", missing: MISSING_REQUIRED });
  if (gate.status !== undefined) return anthropicError(gate.status, gate.message);
  const gen = planGeneration(ctx, gate.model, name, body.max_tokens);
  const identity = identityFor(ctx, `msg|${name}`);
  if (body.stream === true) return streamGeneration(ctx, gen, messagesFormat(gen, identity, estimateInputTokens(body)));
  return completeGeneration(ctx, gen, (final) => encoderJson(200, message(gen, identity, final)), (m) => anthropicError(500, m));
};

function messagesFormat(gen: Generation, identity: Identity, estimate: number): StreamFormat {
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const start = () =>
    event("message_start", {
      message: { id: `msg_${identity.hexId}`, type: "message", role: "assistant", model: gen.model, content: [], usage: { input_tokens: estimate, output_tokens: 0 } },
    });
  return {
    contentType: SSE,
    headers: { "cache-control": "no-cache" },
    cacheKey: identity.cacheKey,
    token: (text, index) => {
      const opening = index === 0 ? start() + event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) : "";
      return `${opening}${event("content_block_delta", { index: 0, delta: { type: "text_delta", text } })}`;
    },
    close: (final) =>
      (final.evalCount === 0 ? start() : event("content_block_stop", { index: 0 })) +
      event("message_delta", {
        delta: { stop_reason: stopReason(final) },
        usage: { input_tokens: final.promptTokens, output_tokens: final.evalCount },
      }) +
      event("message_stop", {}),
    // The {"error"} line converts to no event: the stream just ends.
    fail: () => "",
  };
}

function message(gen: Generation, identity: Identity, final: Final): Record<string, unknown> {
  return {
    id: `msg_${identity.hexId}`,
    type: "message",
    role: "assistant",
    model: gen.model,
    // A nil Go slice: null when there is no text.
    content: final.text === "" ? null : [{ type: "text", text: final.text }],
    stop_reason: stopReason(final),
    usage: { input_tokens: final.promptTokens, output_tokens: final.evalCount },
  };
}

function stopReason(final: Final): string {
  return final.doneReason === "length" ? "max_tokens" : "end_turn";
}

/** anthropic.EstimateInputTokens: characters of system, roles and text content, divided by 4 (at least 1). */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const messages = body.messages as Record<string, unknown>[];
  let length = textLength(body.system);
  for (const m of messages) length += stringField(m, "role").length + textLength(m.content);
  return Math.max(1, Math.floor(length / 4));
}

function textLength(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  return content.reduce((sum: number, block) => sum + (typeof block?.text === "string" ? block.text.length : 0), 0);
}
