import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, MIDSTREAM_ERROR, startEmulator } from "./index.ts";
import { post, sseEvents } from "./test-helpers.ts";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ chunks: 4 });
});
afterAll(() => emulator.stop());

const messages = [{ role: "user", content: "count these five words" }];
const chat = (extra: Record<string, unknown>) => post(`${emulator.url}/v1/chat/completions`, { model: "llama3.2:1b", messages, ...extra });
const completions = (extra: Record<string, unknown>) => post(`${emulator.url}/v1/completions`, { model: "llama3.2:1b", prompt: "one two three", ...extra });
const json = (data: string) => JSON.parse(data) as Record<string, unknown>;

describe("/v1/chat/completions", () => {
  it("streams data: frames ending in [DONE], with no usage unless asked", async () => {
    const response = await chat({ stream: true });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = sseEvents(await response.text());
    expect(events.at(-1)?.data).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => json(e.data));
    expect(chunks).toHaveLength(5);
    expect(chunks.some((c) => "usage" in c)).toBe(false);
    expect(chunks[0]?.choices).toEqual([{ index: 0, delta: { role: "assistant", content: "The" }, finish_reason: null }]);
    expect(chunks[4]?.choices).toEqual([{ index: 0, delta: {}, finish_reason: "stop" }]);
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
    expect(Object.keys(chunks[0] as object)).toEqual(["id", "object", "created", "model", "system_fingerprint", "choices"]);
  });

  it("adds one choices:[] usage chunk before [DONE] with include_usage", async () => {
    const events = sseEvents(await (await chat({ stream: true, stream_options: { include_usage: true } })).text());
    const chunks = events.slice(0, -1).map((e) => json(e.data));
    expect(chunks).toHaveLength(6);
    expect(chunks.slice(0, 5).some((c) => "usage" in c)).toBe(false);
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 } });
  });

  it("answers non-streamed with usage and a trailing newline", async () => {
    const text = await (await chat({ max_tokens: 2 })).text();
    expect(text.endsWith("}\n")).toBe(true);
    expect(json(text)).toMatchObject({
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "The quick" }, finish_reason: "length" }],
      usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
    });
  });

  it("ends a failing stream after an empty, model-less chunk and no [DONE], as Ollama's writer does", async () => {
    const events = sseEvents(await (await chat({ model: "midstream-error", stream: true })).text());
    expect(events).toHaveLength(3);
    expect(json((events[2] as { data: string }).data)).toMatchObject({ model: "", choices: [{ delta: { content: "" }, finish_reason: null }] });
    const whole = await chat({ model: "midstream-error" });
    expect([whole.status, await whole.json()]).toEqual([500, { error: { message: MIDSTREAM_ERROR, type: "api_error", param: null, code: null } }]);
  });

  it("shapes errors the OpenAI way", async () => {
    const missing = await chat({ model: "nope" });
    expect([missing.status, await missing.json()]).toEqual([404, { error: { message: "model 'nope' not found", type: "not_found_error", param: null, code: null } }]);
    const noMessages = await post(`${emulator.url}/v1/chat/completions`, { model: "llama3.2:1b", messages: [] });
    expect(((await noMessages.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });
});

describe("/v1/completions", () => {
  it("streams zeroed usage on every chunk and the real usage last, with include_usage", async () => {
    const events = sseEvents(await (await completions({ stream: true, stream_options: { include_usage: true } })).text());
    const chunks = events.slice(0, -1).map((e) => json(e.data));
    expect(events.at(-1)?.data).toBe("[DONE]");
    expect(chunks).toHaveLength(6);
    for (const chunk of chunks.slice(0, 5)) expect(chunk.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    expect(chunks[4]?.choices).toEqual([{ text: "", index: 0, finish_reason: "stop" }]);
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  });

  it("streams no usage at all without include_usage", async () => {
    const events = sseEvents(await (await completions({ stream: true })).text());
    expect(events).toHaveLength(6);
    expect(events.slice(0, -1).some((e) => "usage" in json(e.data))).toBe(false);
  });
});

describe("/v1/embeddings and /v1/models", () => {
  it("reports embedding usage", async () => {
    const body = (await (await post(`${emulator.url}/v1/embeddings`, { model: "nomic-embed-text", input: "a b c" })).json()) as Record<string, unknown>;
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it("lists and retrieves models, 404 in OpenAI's shape", async () => {
    const list = (await (await fetch(`${emulator.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(list.data.map((m) => m.id)).toEqual(["llama3.2:1b", "qwen2.5:0.5b", "nomic-embed-text:latest"]);
    expect((await fetch(`${emulator.url}/v1/models/llama3.2:1b`)).status).toBe(200);
    expect((await fetch(`${emulator.url}/v1/models/absent`)).status).toBe(404);
  });
});

describe("/v1/responses and /v1/messages", () => {
  it("carries usage on response.completed", async () => {
    const events = sseEvents(await (await post(`${emulator.url}/v1/responses`, { model: "llama3.2:1b", input: "a b", stream: true })).text());
    expect(events[0]?.event).toBe("response.created");
    const completed = events.at(-1) as { event: string; data: string };
    expect(completed.event).toBe("response.completed");
    expect((json(completed.data).response as Record<string, unknown>).usage).toMatchObject({ input_tokens: 2, output_tokens: 4, total_tokens: 6 });
    expect(events.map((e) => json(e.data).sequence_number)).toEqual(events.map((_, i) => i));
  });

  it("carries real usage on message_delta", async () => {
    const body = { model: "llama3.2:1b", max_tokens: 100, messages, stream: true };
    const events = sseEvents(await (await post(`${emulator.url}/v1/messages`, body)).text());
    expect(events.map((e) => e.event)).toEqual([
      "message_start", "content_block_start", "content_block_delta", "content_block_delta",
      "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]);
    expect(json((events[7] as { data: string }).data).usage).toEqual({ input_tokens: 4, output_tokens: 4 });
  });
});
