import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BUSY_ERROR, countPromptTokens, type Emulator, MIDSTREAM_ERROR, startEmulator } from "./index.ts";
import { eventually, ndjson, post } from "./test-helpers.ts";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ chunks: 5 });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const chatBody = {
  model: "llama3.2:1b",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "one two  three" },
  ],
};

describe("native streaming", () => {
  it("sends each chunk as it is produced, not at the end", async () => {
    const started = performance.now();
    const response = await post(`${emulator.url}/api/chat`, chatBody, { "x-emulator": '{"chunkDelayMs":100}' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    const firstAt = performance.now() - started;
    while (!(await reader.read()).done);
    const lastAt = performance.now() - started;
    expect(new TextDecoder().decode(first.value)).toContain('"content":"The"');
    expect(lastAt - firstAt).toBeGreaterThanOrEqual(380);
    expect(firstAt).toBeLessThan(lastAt - 300);
  });

  it("holds the headers back during a slow first token, like a model load", async () => {
    const started = performance.now();
    const response = await post(`${emulator.url}/api/generate`, { model: "llama3.2:1b", prompt: "hi" }, { "x-emulator": '{"firstTokenDelayMs":300}' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    await response.text();
  });

  it("puts exact counts and every metric on the final chunk only", async () => {
    const response = await post(`${emulator.url}/api/chat`, chatBody);
    const lines = await ndjson(response);
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 5).every((l) => l.done === false && !("eval_count" in l))).toBe(true);
    const final = lines[5] as Record<string, unknown>;
    expect(final).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 5, eval_count: 5, message: { role: "assistant", content: "" } });
    for (const field of ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"]) {
      expect(final[field]).toBeGreaterThan(0);
    }
    expect(Object.keys(final)).toEqual([
      "model", "created_at", "message", "done", "done_reason",
      "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration",
    ]);
    expect(countPromptTokens(chatBody)).toBe(5);
  });

  it("answers stream:false with one object holding the whole text, capped by num_predict", async () => {
    const response = await post(`${emulator.url}/api/generate`, { model: "qwen2.5:0.5b", prompt: "a b c", stream: false, options: { num_predict: 3 } });
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ response: "The quick brown", done: true, done_reason: "length", prompt_eval_count: 3, eval_count: 3 });
  });

  it("answers an empty prompt with a load, and keep_alive 0 with an unload, generating nothing", async () => {
    const load = (await (await post(`${emulator.url}/api/chat`, { model: "llama3.2:1b", messages: [] })).json()) as Record<string, unknown>;
    expect(load).toMatchObject({ message: { role: "assistant", content: "" }, done: true, done_reason: "load" });
    const unload = (await (await post(`${emulator.url}/api/generate`, { model: "llama3.2:1b", keep_alive: 0 })).json()) as Record<string, unknown>;
    expect(unload).toMatchObject({ response: "", done: true, done_reason: "unload" });
    expect("eval_count" in unload).toBe(false);
  });

  it("counts /api/embed inputs and gives /api/embeddings no counts", async () => {
    const embed = (await (await post(`${emulator.url}/api/embed`, { model: "nomic-embed-text", input: ["a b", "c d e"] })).json()) as Record<string, unknown>;
    expect(embed.prompt_eval_count).toBe(5);
    expect((embed.embeddings as number[][]).map((e) => e.length)).toEqual([768, 768]);
    const legacy = (await (await post(`${emulator.url}/api/embeddings`, { model: "nomic-embed-text", prompt: "a b" })).json()) as Record<string, unknown>;
    expect(Object.keys(legacy)).toEqual(["embedding"]);
  });
});

describe("native errors", () => {
  it("404 names an unknown model", async () => {
    const response = await post(`${emulator.url}/api/chat`, { ...chatBody, model: "nope:7b" });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe(`{"error":"model 'nope:7b' not found"}`);
  });

  it("answers a missing model as Ollama does per route", async () => {
    const chat = await post(`${emulator.url}/api/chat`, { messages: chatBody.messages });
    expect([chat.status, await chat.json()]).toEqual([400, { error: "model is required" }]);
    const generate = await post(`${emulator.url}/api/generate`, { prompt: "x" });
    expect([generate.status, await generate.json()]).toEqual([404, { error: "model '' not found" }]);
    const empty = await fetch(`${emulator.url}/api/chat`, { method: "POST" });
    expect([empty.status, await empty.json()]).toEqual([400, { error: "missing request body" }]);
  });

  it("503 when busy", async () => {
    const response = await post(`${emulator.url}/api/generate`, { model: "busy", prompt: "x" });
    expect([response.status, await response.json()]).toEqual([503, { error: BUSY_ERROR }]);
  });

  it("sends an error line with status 200 in the middle of a stream", async () => {
    const response = await post(`${emulator.url}/api/chat`, { ...chatBody, model: "midstream-error" });
    expect(response.status).toBe(200);
    const lines = await ndjson(response);
    expect(lines.map((l) => l.error ?? l.done)).toEqual([false, false, MIDSTREAM_ERROR]);
    const whole = await post(`${emulator.url}/api/chat`, { ...chatBody, model: "midstream-error", stream: false });
    expect([whole.status, await whole.json()]).toEqual([500, { error: MIDSTREAM_ERROR }]);
  });

  it("400 on a malformed x-emulator header", async () => {
    const response = await post(`${emulator.url}/api/chat`, chatBody, { "x-emulator": '{"chunks":-1}' });
    expect(response.status).toBe(400);
  });
});

describe("observability", () => {
  it("records headers and body, and sees a client abort mid-stream", async () => {
    const response = await post(`${emulator.url}/api/chat`, chatBody, { "x-emulator": '{"chunkDelayMs":200}', authorization: "Bearer k" });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(emulator.inFlight).toBe(1);
    await reader.cancel();
    await eventually(() => emulator.requests[0]?.aborted === true);
    const [seen] = emulator.requests;
    expect(seen).toMatchObject({ method: "POST", path: "/api/chat", body: chatBody, aborted: true, finished: false });
    expect(seen?.headers.authorization).toBe("Bearer k");
    expect(emulator.inFlight).toBe(0);
    expect(emulator.stats.aborted).toBe(1);
  });

  it("marks a completed stream finished, not aborted", async () => {
    await (await post(`${emulator.url}/api/chat`, chatBody)).text();
    await Bun.sleep(20);
    expect(emulator.requests[0]).toMatchObject({ finished: true, aborted: false });
    expect(emulator.inFlight).toBe(0);
  });

  it("lists used models in /api/ps", async () => {
    await (await post(`${emulator.url}/api/generate`, { model: "qwen2.5:0.5b", prompt: "x", stream: false })).text();
    const ps = (await (await fetch(`${emulator.url}/api/ps`)).json()) as { models: Record<string, unknown>[] };
    expect(ps.models.map((m) => m.name)).toEqual(["qwen2.5:0.5b"]);
    expect(Object.keys(ps.models[0] as object)).toEqual(["name", "model", "size", "digest", "details", "expires_at", "size_vram", "context_length"]);
  });
});

describe("Host check", () => {
  it("answers a foreign Host with a bare 403, as Ollama on loopback does", async () => {
    const foreign = await fetch(`${emulator.url}/api/tags`, { headers: { host: "gateway.example.com" } });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toBe("");
    for (const host of [`127.0.0.1:${emulator.port}`, "localhost:11434", "box.localhost", "10.0.0.5"]) {
      expect((await fetch(`${emulator.url}/api/tags`, { headers: { host } })).status).toBe(200);
    }
  });
});

describe("blobs", () => {
  it("creates a blob only when the body matches its sha256 digest", async () => {
    const data = new TextEncoder().encode("a layer");
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    expect((await fetch(`${emulator.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    const wrong = await fetch(`${emulator.url}/api/blobs/sha256:${"0".repeat(64)}`, { method: "POST", body: data });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toContain(`got "${digest}"`);
    expect((await fetch(`${emulator.url}/api/blobs/${digest}`, { method: "POST", body: data })).status).toBe(201);
    expect((await fetch(`${emulator.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(200);
  });
});

describe("fast mode", () => {
  it("logs no request but counts them, and serves identical bytes", async () => {
    const fast = await startEmulator({ fast: true, chunks: 3 });
    try {
      const first = await (await post(`${fast.url}/api/chat`, chatBody)).text();
      const second = await (await post(`${fast.url}/api/chat`, chatBody)).text();
      expect(first.split("\n").slice(0, 3)).toEqual(second.split("\n").slice(0, 3));
      expect(fast.requests).toHaveLength(0);
      expect(fast.stats).toMatchObject({ requests: 2, finished: 2, inFlight: 0 });
      const stats = (await (await fetch(`${fast.url}/_emulator/stats`)).json()) as Record<string, number>;
      expect(stats.requests).toBe(2);
    } finally {
      await fast.stop();
    }
  });
});
