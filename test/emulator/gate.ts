/** The checks every inference route makes on the model before generating, with Ollama's messages. */
import { BUSY_ERROR, canGenerate, type ResolvedModel, resolveModel } from "./models.ts";

export type Gate = { model: ResolvedModel; status?: undefined } | { status: number; message: string };

export interface GateRules {
  /** What this route answers when the model is empty (it differs by route in Ollama). */
  missing: { status: number; message: string };
  /** The capability the route needs; embedding routes need none. */
  kind?: "generate" | "chat";
  /** Embedding routes fail later in Ollama, in the scheduler, with its older message. */
  scheduler?: boolean;
}

export function gateModel(name: string, rules: GateRules): Gate {
  if (name.trim() === "") return rules.missing;
  const model = resolveModel(name);
  if (!model || (rules.scheduler && model.trigger === "midstream-error")) return { status: 404, message: notFound(name, rules) };
  if (model.trigger === "busy") return { status: 503, message: BUSY_ERROR };
  if (rules.kind && !canGenerate(model.info)) {
    return { status: 400, message: `${JSON.stringify(name)} does not support ${rules.kind}` };
  }
  return { model };
}

function notFound(name: string, rules: GateRules): string {
  return rules.scheduler ? `model ${JSON.stringify(name)} not found, try pulling it first` : `model '${name}' not found`;
}

/** Ollama's answers when the model is empty: chat says it is required, generate and embed say 404. */
export const MISSING_REQUIRED = { status: 400, message: "model is required" };
export const MISSING_NOT_FOUND = { status: 404, message: "model '' not found" };
