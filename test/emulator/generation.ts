/**
 * One emulated generation: which tokens, how many prompt tokens, how it ends, and the metrics
 * Ollama reports on its final chunk.
 */
import type { RequestContext } from "./context.ts";
import { type ResolvedModel, triggerBehaviour } from "./models.ts";
import { type Behaviour, requestBehaviour } from "./options.ts";
import { contentTokens, countPromptTokens } from "./tokens.ts";

export interface Generation {
  /** The model name as requested; Ollama echoes it unchanged. */
  model: string;
  tokens: string[];
  promptTokens: number;
  doneReason: "stop" | "length";
  /** For the midstream-error trigger: tokens sent before the error line. */
  failAfter: number | undefined;
  behaviour: Behaviour;
  startedAt: number;
  loadedAt: number;
}

/** The numbers of Ollama's final chunk; every duration is at least 1 ns so none is omitted. */
export interface Final {
  text: string;
  promptTokens: number;
  evalCount: number;
  doneReason: "stop" | "length";
  totalNs: number;
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
}

/**
 * Plans a generation. `limit` is the request's output cap (num_predict, max_tokens,
 * max_output_tokens): fewer chunks and done_reason "length" when it is below the chunk count.
 */
export function planGeneration(ctx: RequestContext, model: ResolvedModel, name: string, limit: unknown): Generation {
  const behaviour = requestBehaviour(ctx.options, triggerBehaviour(model), ctx.request.headers.get("x-emulator"));
  const capped = typeof limit === "number" && limit >= 0 && limit < behaviour.chunks;
  const tokens = contentTokens(capped ? (limit as number) : behaviour.chunks);
  const now = performance.now();
  ctx.state.markLoaded(model.info);
  return {
    model: name,
    tokens,
    promptTokens: countPromptTokens(ctx.body),
    doneReason: capped ? "length" : "stop",
    failAfter: model.trigger === "midstream-error" ? Math.min(2, tokens.length) : undefined,
    behaviour,
    startedAt: now,
    loadedAt: now,
  };
}

export function finalOf(gen: Generation): Final {
  const now = performance.now();
  return {
    text: gen.tokens.join(""),
    promptTokens: gen.promptTokens,
    evalCount: gen.tokens.length,
    doneReason: gen.doneReason,
    totalNs: nanos(now - gen.startedAt),
    loadNs: nanos(gen.loadedAt - gen.startedAt),
    promptEvalNs: Math.max(1, gen.promptTokens * 100_000),
    evalNs: nanos(now - gen.loadedAt),
  };
}

function nanos(ms: number): number {
  return Math.max(1, Math.round(ms * 1e6));
}
