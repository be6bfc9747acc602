/** The metric members of Ollama's final chunk, in api.Metrics field order, zeros omitted (omitempty). */
import type { Final } from "../generation.ts";

export function metricsJson(final: Final): string {
  return (
    member("total_duration", final.totalNs) +
    member("load_duration", final.loadNs) +
    member("prompt_eval_count", final.promptTokens) +
    member("prompt_eval_duration", final.promptEvalNs) +
    member("eval_count", final.evalCount) +
    member("eval_duration", final.evalNs)
  );
}

function member(name: string, value: number): string {
  return value === 0 ? "" : `,"${name}":${value}`;
}
