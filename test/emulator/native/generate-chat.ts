/**
 * POST /api/generate and /api/chat: NDJSON chunks (`application/x-ndjson`) unless `"stream": false`,
 * the counts on the final chunk, and Ollama's load/unload answers for an empty prompt.
 */
import { bodyRecord, type Handler, type RequestContext, stringField } from "../context.ts";
import { type Final, type Generation, planGeneration } from "../generation.ts";
import { gateModel, MISSING_NOT_FOUND, MISSING_REQUIRED } from "../gate.ts";
import { ginJson, goTimestamp, ollamaError } from "../http.ts";
import { chunkTimestamp, type Identity, identityFor } from "../identity.ts";
import { completeGeneration, type StreamFormat, streamGeneration } from "../stream.ts";
import { metricsJson } from "./metrics.ts";

type Kind = "generate" | "chat";

export const generateHandler: Handler = (ctx) => inference(ctx, "generate");
export const chatHandler: Handler = (ctx) => inference(ctx, "chat");

async function inference(ctx: RequestContext, kind: Kind): Promise<Response> {
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  const gate = gateModel(name, { kind, missing: kind === "chat" ? MISSING_REQUIRED : MISSING_NOT_FOUND });
  if (gate.status !== undefined) return ollamaError(gate.status, gate.message);

  const idle = idleAnswer(body, kind);
  if (idle) return ginJson(200, emptyDone(kind, name, idle));

  const options = body.options as Record<string, unknown> | undefined;
  const gen = planGeneration(ctx, gate.model, name, options?.num_predict);
  const identity = identityFor(ctx, `${kind}|${name}`);
  if (body.stream !== false) return streamGeneration(ctx, gen, nativeFormat(kind, gen, identity));
  return completeGeneration(
    ctx,
    gen,
    // Not streaming, Ollama sends the final chunk alone, holding the whole text.
    (final) => new Response(finalJson(kind, gen, identity, final, final.text), { headers: GIN_JSON }),
    (message) => ollamaError(500, message),
  );
}

const GIN_JSON = { "content-type": "application/json; charset=utf-8" };

/** An empty prompt loads the model; with keep_alive 0 it unloads it. No generation happens. */
function idleAnswer(body: Record<string, unknown>, kind: Kind): "load" | "unload" | undefined {
  const empty = kind === "generate" ? stringField(body, "prompt") === "" : !Array.isArray(body.messages) || body.messages.length === 0;
  if (!empty) return undefined;
  return isZero(body.keep_alive) ? "unload" : "load";
}

function isZero(keepAlive: unknown): boolean {
  return keepAlive === 0 || (typeof keepAlive === "string" && /^0+(\.0+)?[smh]?$/.test(keepAlive));
}

function emptyDone(kind: Kind, model: string, reason: string): Record<string, unknown> {
  const created_at = goTimestamp();
  if (kind === "generate") return { model, created_at, response: "", done: true, done_reason: reason };
  return { model, created_at, message: { role: "assistant", content: "" }, done: true, done_reason: reason };
}

export function nativeFormat(kind: Kind, gen: Generation, identity: Identity): StreamFormat {
  return {
    contentType: "application/x-ndjson",
    cacheKey: identity.cacheKey,
    token: (text) => `${head(gen, identity)}${content(kind, text)},"done":false}\n`,
    close: (final) => `${finalJson(kind, gen, identity, final, "")}\n`,
    fail: (message) => `${JSON.stringify({ error: message })}\n`,
  };
}

/** The final chunk: done, done_reason, generate's context, then every metric. */
function finalJson(kind: Kind, gen: Generation, identity: Identity, final: Final, text: string): string {
  const context = kind === "generate" ? `,"context":${contextTokens(final.promptTokens + final.evalCount)}` : "";
  const done = `"done":true,"done_reason":"${final.doneReason}"`;
  return `${head(gen, identity)}${content(kind, text)},${done}${context}${metricsJson(final)}}`;
}

function head(gen: Generation, identity: Identity): string {
  return `{"model":${JSON.stringify(gen.model)},"created_at":"${chunkTimestamp(identity)}",`;
}

function content(kind: Kind, text: string): string {
  const json = JSON.stringify(text);
  return kind === "generate" ? `"response":${json}` : `"message":{"role":"assistant","content":${json}}`;
}

/** Stand-in for the prompt+response token ids /api/generate returns as `context`. */
function contextTokens(count: number): string {
  return `[${Array.from({ length: count }, (_, i) => 100 + i).join(",")}]`;
}
