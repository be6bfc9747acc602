/** Server-sent event framing as Ollama's compatibility writers produce it. */

export const SSE = "text/event-stream";
export const DONE = "data: [DONE]\n\n";

export function dataEvent(json: string): string {
  return `data: ${json}\n\n`;
}

/** OpenAI usage, built by string so fast mode stays cheap. */
export function usageJson(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`;
}

export const ZERO_USAGE = usageJson(0, 0);
