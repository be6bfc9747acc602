/**
 * The gateway is transparent: for every endpoint the client gets the upstream's status and
 * bytes unchanged, including the OpenAI streams where the gateway asked upstream for usage the
 * client did not want. The emulator in fast mode freezes timestamps, so a direct answer can be
 * compared with a proxied one byte for byte once the measured durations, generated ids and
 * creation seconds, which differ between any two answers, are masked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startWorld, type World } from "./harness.ts";

const CASES: Array<[method: string, path: string, body?: unknown]> = [
  ["POST", "/api/chat", { model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }] }],
  ["POST", "/api/chat", { model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }], stream: false }],
  ["POST", "/api/generate", { model: "qwen2.5:0.5b", prompt: "hello" }],
  ["POST", "/api/embed", { model: "nomic-embed-text", input: "a b" }],
  ["POST", "/api/embeddings", { model: "nomic-embed-text", prompt: "a b" }],
  ["POST", "/v1/chat/completions", { model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }], stream: true }],
  ["POST", "/v1/chat/completions", { model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } }],
  ["POST", "/v1/completions", { model: "qwen2.5:0.5b", prompt: "hi", stream: true }],
  ["POST", "/v1/completions", { model: "qwen2.5:0.5b", prompt: "hi", stream: true, stream_options: { include_usage: true } }],
  ["POST", "/v1/chat/completions", { model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }] }],
  ["POST", "/v1/embeddings", { model: "nomic-embed-text", input: "a b" }],
  ["POST", "/v1/responses", { model: "llama3.2:1b", input: "hi", stream: true }],
  ["POST", "/v1/messages", { model: "llama3.2:1b", max_tokens: 10, messages: [{ role: "user", content: "hi" }], stream: true }],
  ["GET", "/api/tags"],
  ["GET", "/api/version"],
  ["GET", "/v1/models"],
  ["POST", "/api/chat", { model: "no-such-model", messages: [] }],
  ["POST", "/v1/chat/completions", { model: "no-such-model", messages: [] }],
  ["POST", "/api/chat", { model: "busy", messages: [{ role: "user", content: "hi" }] }],
  ["POST", "/api/chat", { model: "midstream-error", messages: [{ role: "user", content: "hi" }] }],
];

describe("byte-for-byte pass-through", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld("sqlite", { emulator: { fast: true } });
  });
  afterAll(() => world?.close());

  it.each(CASES)("%s %s %j", async (method, path, body) => {
    const init = (headers: Record<string, string>) => ({ method, headers: { "content-type": "application/json", ...headers }, body: body ? JSON.stringify(body) : undefined });
    const direct = await fetch(`${world.emulator.url}${path}`, init({}));
    const proxied = await fetch(`${world.gateway.url}${path}`, init(bearer(world.adminKey)));
    expect(proxied.status).toBe(direct.status);
    expect(proxied.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    expect(proxied.headers.get("x-request-id")).toBeTruthy();
    expect(masked(await proxied.text())).toBe(masked(await direct.text()));
  });
});

function masked(body: string): string {
  return body.replace(/"(\w+_duration|created)":\d+/g, '"$1":0').replace(/"id":"(cmpl|chatcmpl)-\d+"/g, '"id":"$1-0"');
}
