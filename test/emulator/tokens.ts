/**
 * Deterministic token counting, so tests can compare the gateway's usage report with exact numbers.
 *
 * Rule: the prompt's token count is the number of whitespace-separated words in every text the
 * request carries: `prompt`, `suffix`, `system`, `instructions`, each message's `content` (a string,
 * or the `text` of each part), and `input` (a string, strings, or Responses items). Roles, tool
 * definitions and images count nothing. The output's token count is the number of content chunks.
 */

const TEXT_FIELDS = ["system", "instructions", "prompt", "suffix", "messages", "input"] as const;

/** Prompt tokens (prompt_eval_count / prompt_tokens / input_tokens) for a request body. */
export function countPromptTokens(body: unknown): number {
  if (typeof body !== "object" || body === null) return 0;
  const record = body as Record<string, unknown>;
  let count = 0;
  for (const field of TEXT_FIELDS) count += countWords(textOf(record[field]));
  return count;
}

/** Words in one text. */
export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

/** The text inside a field: strings, arrays of them, and `text`/`content` members of objects. */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(textOf).join(" ");
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.text === "string") return record.text;
    return textOf(record.content);
  }
  return "";
}

const VOCABULARY = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."];

/** The content pieces of a generation: one per chunk, cycling through a fixed sentence. */
export function contentTokens(count: number): string[] {
  return Array.from({ length: count }, (_, i) => VOCABULARY[i % VOCABULARY.length] as string);
}
