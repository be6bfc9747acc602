import { describe, expect, test } from "vitest";
import { createMeter } from "./meter.ts";
import { bytes, chunksOf, feed, goJson } from "./meter-fixtures.ts";

const json = () => createMeter("json", { stripUsage: false });

// Bodies as Ollama writes them (trailing newline from json.Encoder on /v1/*).
const bodies: { endpoint: string; body: string; prompt: number; completion: number }[] = [
  {
    endpoint: "/api/generate",
    body: goJson({ model: "m", created_at: "t", response: "Hi", done: true, done_reason: "stop", context: [1, 2, 3], total_duration: 5, prompt_eval_count: 11, eval_count: 2 }),
    prompt: 11,
    completion: 2,
  },
  { endpoint: "/api/chat", body: goJson({ model: "m", created_at: "t", message: { role: "assistant", content: "Hi" }, done: true, prompt_eval_count: 12, eval_count: 3 }), prompt: 12, completion: 3 },
  { endpoint: "/api/embed", body: goJson({ model: "m", embeddings: [[0.1, 0.2]], total_duration: 5, load_duration: 1, prompt_eval_count: 8 }), prompt: 8, completion: 0 },
  { endpoint: "/api/embeddings", body: goJson({ embedding: [0.1, 0.2] }), prompt: 0, completion: 0 },
  {
    endpoint: "/v1/chat/completions",
    body: goJson({ id: "chatcmpl-1", object: "chat.completion", created: 1, model: "m", system_fingerprint: "fp_ollama", choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 13, completion_tokens: 4, total_tokens: 17 } }) + "\n",
    prompt: 13,
    completion: 4,
  },
  {
    endpoint: "/v1/completions",
    body: goJson({ id: "cmpl-1", object: "text_completion", created: 1, model: "m", system_fingerprint: "fp_ollama", choices: [{ text: "Hi", index: 0, finish_reason: "stop" }], usage: { prompt_tokens: 14, completion_tokens: 5, total_tokens: 19 } }) + "\n",
    prompt: 14,
    completion: 5,
  },
  { endpoint: "/v1/embeddings", body: goJson({ object: "list", data: [{ object: "embedding", embedding: [0.1], index: 0 }], model: "m", usage: { prompt_tokens: 6, total_tokens: 6 } }) + "\n", prompt: 6, completion: 0 },
  { endpoint: "/v1/responses", body: goJson({ id: "resp_1", object: "response", status: "completed", usage: { input_tokens: 15, output_tokens: 6, total_tokens: 21 } }) + "\n", prompt: 15, completion: 6 },
  { endpoint: "/v1/messages", body: goJson({ id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: "end_turn", usage: { input_tokens: 16, output_tokens: 7 } }) + "\n", prompt: 16, completion: 7 },
];

describe("non-streaming JSON meter", () => {
  test.each(bodies)("$endpoint", ({ body, prompt, completion }) => {
    const fed = feed(json(), chunksOf(bytes(body), 7));
    expect(fed.counts).toEqual({ promptTokens: prompt, completionTokens: completion, complete: true, error: null });
    expect(fed.passedThrough).toBe(true);
    expect(fed.out).toBe(body);
  });

  test("error bodies in Ollama's and OpenAI's shapes", () => {
    expect(feed(json(), [bytes(goJson({ error: "model 'x' not found" }))]).counts.error).toBe("model 'x' not found");
    const openAi = goJson({ error: { message: "model \"x\" not found, try pulling it first", type: "not_found_error", param: null, code: null } }) + "\n";
    expect(feed(json(), [bytes(openAi)]).counts.error).toBe('model "x" not found, try pulling it first');
  });

  test("a truncated body is not complete", () => {
    expect(feed(json(), [bytes('{"model":"m","prompt_eval_co')]).counts).toEqual({ promptTokens: 0, completionTokens: 0, complete: false, error: null });
  });

  test("meters a body read whole without copying it", () => {
    const meter = json();
    const body = bytes(bodies[1]!.body);
    expect(meter.whole(body)).toBe(body);
    expect(meter.counts()).toEqual({ promptTokens: 12, completionTokens: 3, complete: true, error: null });
  });
});
