/**
 * The official `ollama` and `openai` clients, pointed at the gateway with a key, work as they do
 * against Ollama, and the usage report afterwards matches the emulator's counts exactly.
 */
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countPromptTokens } from "../emulator/index.ts";
import { bearer, DRIVERS, startWorld, type World } from "./harness.ts";

describe.each(DRIVERS)("official clients through the gateway (%s)", (driver) => {
  let world: World;
  let key: string;
  let ollama: Ollama;
  let openai: OpenAI;
  /** What the emulator says each request cost, summed per model. */
  const expected = new Map<string, { requests: number; prompt: number; completion: number }>();
  const charge = (model: string, prompt: number, completion: number) => {
    const e = expected.get(model) ?? { requests: 0, prompt: 0, completion: 0 };
    expected.set(model, { requests: e.requests + 1, prompt: e.prompt + prompt, completion: e.completion + completion });
  };

  beforeAll(async () => {
    world = await startWorld(driver);
    key = await world.user("carol");
    ollama = new Ollama({ host: world.gateway.url, headers: bearer(key) });
    openai = new OpenAI({ baseURL: `${world.gateway.url}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => world?.close());

  it("chat, streaming and not", async () => {
    const messages = [{ role: "user", content: "tell me about foxes please" }];
    const whole = await ollama.chat({ model: "llama3.2:1b", messages });
    expect(whole.message.content.length).toBeGreaterThan(0);
    expect(whole.prompt_eval_count).toBe(countPromptTokens({ messages }));
    charge("llama3.2:1b", whole.prompt_eval_count, whole.eval_count);

    let text = "";
    let last: { prompt_eval_count: number; eval_count: number; done: boolean } | null = null;
    for await (const part of await ollama.chat({ model: "llama3.2:1b", messages, stream: true })) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe(whole.message.content);
    expect(last?.done).toBe(true);
    charge("llama3.2:1b", last!.prompt_eval_count, last!.eval_count);
  });

  it("generate, streaming and not", async () => {
    const whole = await ollama.generate({ model: "qwen2.5:0.5b", prompt: "one two three" });
    expect(whole.response!.length).toBeGreaterThan(0);
    charge("qwen2.5:0.5b", whole.prompt_eval_count, whole.eval_count);
    let parts = 0;
    let final: { prompt_eval_count: number; eval_count: number } | null = null;
    for await (const part of await ollama.generate({ model: "qwen2.5:0.5b", prompt: "four five", stream: true })) {
      parts++;
      if (part.done) final = part;
    }
    expect(parts).toBeGreaterThan(1);
    charge("qwen2.5:0.5b", final!.prompt_eval_count, final!.eval_count);
  });

  it("embed, tags, show, ps, version", async () => {
    const embedded = await ollama.embed({ model: "nomic-embed-text", input: ["a b c", "d e"] });
    expect(embedded.embeddings).toHaveLength(2);
    charge("nomic-embed-text", embedded.prompt_eval_count ?? 0, 0);
    const tags = await ollama.list();
    expect(tags.models.map((m) => m.name)).toContain("llama3.2:1b");
    const shown = await ollama.show({ model: "llama3.2:1b" });
    expect(shown.details.family).toBe("llama");
    charge("llama3.2:1b", 0, 0);
    const ps = await ollama.ps();
    expect(Array.isArray(ps.models)).toBe(true);
    const version = await fetch(`${world.gateway.url}/api/version`, { headers: bearer(key) }).then((r) => r.json());
    expect(version.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("OpenAI chat completions, streaming without and with include_usage, and not streaming", async () => {
    const messages = [{ role: "user" as const, content: "hello from the openai client" }];
    const whole = await openai.chat.completions.create({ model: "llama3.2:1b", messages });
    expect(whole.choices[0]!.message.content).toBeTruthy();
    charge("llama3.2:1b", whole.usage!.prompt_tokens, whole.usage!.completion_tokens);

    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of await openai.chat.completions.create({ model: "llama3.2:1b", messages, stream: true })) chunks.push(chunk);
    expect(chunks.every((c) => c.usage == null)).toBe(true); // the gateway's added usage chunk is removed
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    charge("llama3.2:1b", whole.usage!.prompt_tokens, chunks.filter((c) => c.choices[0]!.delta.content).length);

    const withUsage: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    const stream = await openai.chat.completions.create({ model: "llama3.2:1b", messages, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) withUsage.push(chunk);
    const usage = withUsage.at(-1)!.usage!;
    expect(withUsage.at(-1)!.choices).toEqual([]);
    expect(usage.prompt_tokens).toBe(whole.usage!.prompt_tokens);
    charge("llama3.2:1b", usage.prompt_tokens, usage.completion_tokens);
  });

  it("OpenAI completions streaming and embeddings", async () => {
    let text = "";
    for await (const chunk of await openai.completions.create({ model: "qwen2.5:0.5b", prompt: "count with me", stream: true })) text += chunk.choices[0]?.text ?? "";
    expect(text.length).toBeGreaterThan(0);
    const whole = await openai.completions.create({ model: "qwen2.5:0.5b", prompt: "count with me" });
    charge("qwen2.5:0.5b", whole.usage!.prompt_tokens, whole.usage!.completion_tokens); // the streamed one
    charge("qwen2.5:0.5b", whole.usage!.prompt_tokens, whole.usage!.completion_tokens);
    const emb = await openai.embeddings.create({ model: "nomic-embed-text", input: "vectors for all" });
    expect(emb.data[0]!.embedding.length).toBeGreaterThan(0);
    charge("nomic-embed-text", emb.usage.prompt_tokens, 0);
  });

  it("records every request, and the usage report matches the emulator's counts exactly", async () => {
    const rows = await world.report(["--by", "user,model", "--user", "carol"]);
    for (const [model, e] of expected) {
      const row = rows.find((r) => r.model === model);
      expect(row, `report row for ${model}`).toBeDefined();
      expect({ requests: row!.requests, prompt: row!.prompt_tokens, completion: row!.completion_tokens, errors: row!.errors }).toEqual({
        requests: e.requests,
        prompt: e.prompt,
        completion: e.completion,
        errors: 0,
      });
    }
  });
});
