import { describe, expect, test } from "vitest";
import { prepareRequest } from "./usage-options.ts";

describe("prepareRequest", () => {
  test("an OpenAI stream without include_usage gets it, keeping the client's other stream_options", () => {
    const body = { model: "qwen2.5:0.5b", stream: true, stream_options: { other: 1, include_usage: false }, messages: [] };
    const prepared = prepareRequest("/v1/chat/completions", body);
    expect(prepared).toEqual({
      body: { model: "qwen2.5:0.5b", stream: true, stream_options: { other: 1, include_usage: true }, messages: [] },
      stripUsage: true,
      model: "qwen2.5:0.5b",
      stream: true,
    });
    expect(body.stream_options.include_usage).toBe(false); // the client's object is not mutated
    expect(prepareRequest("/v1/completions", { model: "m", stream: true, prompt: "x" }).body).toEqual({ model: "m", stream: true, prompt: "x", stream_options: { include_usage: true } });
  });

  test("unchanged bodies come back as the same object, so the original bytes can be forwarded", () => {
    const cases: [string, Record<string, unknown>, boolean][] = [
      ["/v1/chat/completions", { model: "m", stream: true, stream_options: { include_usage: true } }, true],
      ["/v1/chat/completions", { model: "m" }, false],
      ["/v1/completions", { model: "m", stream: false }, false],
      ["/v1/responses", { model: "m", stream: true }, true],
      ["/v1/messages", { model: "m" }, false],
      ["/api/chat", { model: "m" }, true],
      ["/api/generate", { model: "m", stream: false }, false],
      ["/api/embed", { model: "m", input: "x" }, false],
    ];
    for (const [path, body, stream] of cases) {
      const prepared = prepareRequest(path, body);
      expect(prepared.body, path).toBe(body);
      expect(prepared, path).toMatchObject({ stripUsage: false, model: "m", stream });
    }
  });

  test("the model: native requests may say name; a missing or non-string model is null", () => {
    expect(prepareRequest("/api/pull", { name: "llama3.2" }).model).toBe("llama3.2");
    expect(prepareRequest("/api/pull", { name: "llama3.2" }).stream).toBe(true);
    expect(prepareRequest("/v1/chat/completions", { name: "llama3.2" }).model).toBeNull();
    expect(prepareRequest("/api/chat", { model: 7 }).model).toBeNull();
  });
});
