/** POST /api/embed (with prompt_eval_count) and the legacy POST /api/embeddings (no counts at all). */
import { bodyRecord, type Handler, stringField } from "../context.ts";
import { gateModel, MISSING_NOT_FOUND, MISSING_REQUIRED } from "../gate.ts";
import { ginJson, ollamaError } from "../http.ts";
import type { ModelInfo } from "../models.ts";
import { countWords } from "../tokens.ts";

export const embedHandler: Handler = (ctx) => {
  const started = performance.now();
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  const gate = gateModel(name, { missing: MISSING_NOT_FOUND, scheduler: true });
  if (gate.status !== undefined) return ollamaError(gate.status, gate.message);
  const inputs = embedInputs(body.input);
  if (!inputs) return ollamaError(400, "invalid input type");
  ctx.state.markLoaded(gate.model.info);
  if (inputs.length === 0) return ginJson(200, { model: name, embeddings: [] });
  const dims = dimensions(gate.model.info, body.dimensions);
  const promptTokens = inputs.reduce((sum, text) => sum + countWords(text), 0);
  const totalNs = Math.max(1, Math.round((performance.now() - started) * 1e6));
  return ginJson(200, {
    model: name,
    embeddings: inputs.map((text) => embedding(text, dims)),
    total_duration: totalNs,
    load_duration: 1,
    ...(promptTokens > 0 ? { prompt_eval_count: promptTokens } : {}),
  });
};

export const embeddingsHandler: Handler = (ctx) => {
  const body = bodyRecord(ctx);
  const name = stringField(body, "model");
  const gate = gateModel(name, { missing: MISSING_REQUIRED, scheduler: true });
  if (gate.status !== undefined) return ollamaError(gate.status, gate.message);
  ctx.state.markLoaded(gate.model.info);
  const prompt = stringField(body, "prompt");
  return ginJson(200, { embedding: prompt === "" ? [] : embedding(prompt, gate.model.info.embeddingLength) });
};

/** The inputs of /api/embed: a string (empty means none) or strings; undefined when of another type. */
export function embedInputs(input: unknown): string[] | undefined {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return input === "" ? [] : [input];
  if (Array.isArray(input) && input.every((v) => typeof v === "string")) return input as string[];
  return undefined;
}

export function dimensions(info: ModelInfo, requested: unknown): number {
  const full = info.embeddingLength;
  return typeof requested === "number" && requested > 0 && requested < full ? requested : full;
}

/** A deterministic unit vector for a text, rounded to float32-like precision. */
export function embedding(text: string, dims: number): number[] {
  let seed = 0;
  for (let i = 0; i < text.length; i++) seed = (seed * 31 + text.charCodeAt(i)) | 0;
  const raw = Array.from({ length: dims }, (_, i) => Math.sin(seed + i * 12.9898));
  const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0)) || 1;
  return raw.map((v) => Number((v / norm).toPrecision(8)));
}
