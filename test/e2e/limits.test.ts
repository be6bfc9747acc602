/**
 * Limits as a user meets them: exact across two gateways sharing Redis and PostgreSQL, token
 * limits charged from real counts, concurrency with slow and aborted streams, changes picked up
 * by running gateways, Redis going away under both on_error policies, and /parallama/v1/me.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayProcess } from "../support/gateway.ts";
import { REDIS_URL } from "../support/services.ts";
import { type TcpProxy, startTcpProxy } from "../support/tcp-proxy.ts";
import { bearer, startWorld, type World } from "./harness.ts";

const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "one two three" }], stream: false, ...extra });

const send = (gw: GatewayProcess, key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/api/chat`, { method: "POST", headers: { ...bearer(key), ...headers }, body: body(extra) });

describe("limits across two gateways sharing Redis and PostgreSQL", () => {
  let world: World;
  let second: GatewayProcess;

  beforeAll(async () => {
    world = await startWorld("postgres", { redis: true });
    second = await world.another();
  });
  afterAll(() => world?.close());

  it("admits exactly the hourly request limit out of 200 concurrent requests", async () => {
    const key = await world.user("mia", { limits: ["--requests-hourly", "50"] });
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => send(i % 2 ? second : world.gateway, key)));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(50);
    expect(limited).toHaveLength(150);
    const refusal = limited[0]!;
    expect(Number(refusal.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refusal.headers.get("ratelimit-limit")).toBe("50");
    expect(refusal.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(refusal.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
    expect((await refusal.json()).error).toBe("request limit exceeded: 50 per hour");
    expect(ok[0]!.headers.get("ratelimit-limit")).toBe("50");
    await Promise.all(responses.map((r) => r.arrayBuffer().catch(() => {})));
  });

  it("charges real token counts, streamed and not, and refuses once the limit is reached", async () => {
    // The emulator counts 3 prompt words and 5 content chunks: 8 tokens a request.
    const key = await world.user("noa", { limits: ["--tokens-hourly", "20"] });
    expect((await send(world.gateway, key)).status).toBe(200);
    const streamed = await send(second, key, { stream: true });
    expect(streamed.status).toBe(200);
    await streamed.text();
    const v1 = await fetch(`${world.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: bearer(key),
      body: JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "one two three" }], stream: true }),
    });
    await v1.text();
    await Bun.sleep(100);
    const refused = await send(world.gateway, key);
    expect(refused.status).toBe(429);
    const error = await refused.json();
    expect(error.error).toBe("token limit exceeded: 20 per hour");
    const me = await (await fetch(`${second.url}/parallama/v1/me`, { headers: bearer(key) })).json();
    expect(me.user).toBe("noa");
    expect(me.windows).toEqual([expect.objectContaining({ name: "tokens_hourly", limit: 20, used: 24, remaining: 0 })]);
  });

  it("answers over-limit /v1 requests in OpenAI's shape", async () => {
    const key = await world.user("oli", { limits: ["--requests-daily", "1"] });
    expect((await send(world.gateway, key)).status).toBe(200);
    const res = await fetch(`${second.url}/v1/chat/completions`, { method: "POST", headers: bearer(key), body: body() });
    expect(res.status).toBe(429);
    const error = await res.json();
    expect(error.error.message).toBe("request limit exceeded: 1 per day");
    expect(error.error.type).toBe("rate_limit_exceeded");
  });

  it("limits concurrent streams, releasing slots on completion and on client abort", async () => {
    const key = await world.user("pat", { limits: ["--concurrency", "2"] });
    const slow = { "x-emulator": JSON.stringify({ chunks: 20, chunkDelayMs: 50 }) };
    const aborter = new AbortController();
    const a = await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: { ...bearer(key), ...slow }, body: body({ stream: true }), signal: aborter.signal });
    const b = await send(second, key, { stream: true }, slow);
    const third = await send(world.gateway, key);
    expect(third.status).toBe(429);
    expect((await third.json()).error).toBe("too many concurrent requests: 2");
    await a.body!.getReader().read();
    aborter.abort();
    await Bun.sleep(200);
    expect((await send(second, key)).status).toBe(200);
    await b.text();
    expect((await send(world.gateway, key)).status).toBe(200);
  });

  it("sees a limit change on running gateways within 5 seconds", async () => {
    const key = await world.user("quinn", { limits: ["--requests-hourly", "1"] });
    expect((await send(world.gateway, key)).status).toBe(200);
    expect((await send(second, key)).status).toBe(429);
    await world.cli(["limits", "set", "quinn", "--requests-hourly", "100"]);
    const changed = Date.now();
    let status = 429;
    while (status === 429 && Date.now() - changed < 8000) {
      status = (await send(second, key)).status;
      if (status === 429) await Bun.sleep(100);
    }
    expect(status).toBe(200);
    expect(Date.now() - changed).toBeLessThan(5000);
  });

  it("refuses a revoked key on both gateways within a second", async () => {
    const key = await world.user("vera");
    expect((await send(world.gateway, key)).status).toBe(200);
    expect((await send(second, key)).status).toBe(200);
    expect((await world.cli(["key", "revoke", key.split("_")[1]!])).code).toBe(0);
    const revokedAt = Date.now();
    const refusedOn = async (gw: GatewayProcess) => {
      while (Date.now() - revokedAt < 3000) {
        if ((await send(gw, key)).status === 401) return Date.now() - revokedAt;
        await Bun.sleep(20);
      }
      return Infinity;
    };
    const [first, other] = await Promise.all([refusedOn(world.gateway), refusedOn(second)]);
    expect(first).toBeLessThan(1000);
    expect(other).toBeLessThan(1000);
  });
});

describe.each(["allow", "deny"] as const)("Redis unreachable under traffic, on_error: %s", (onError) => {
  let world: World;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    world = await startWorld("sqlite", { config: { redis: { url: `redis://${proxy.address}/0`, prefix: `parallama_test:${crypto.randomUUID()}:`, on_error: onError } } });
  });
  afterAll(async () => {
    await world?.close();
    proxy?.stop();
  });

  it("decides by the policy while Redis is away, counts it, and limits again once it returns", async () => {
    const key = await world.user("rue", { limits: ["--requests-hourly", "3"] });
    expect((await send(world.gateway, key)).status).toBe(200);
    proxy.pause();
    const during = await send(world.gateway, key);
    expect(during.status).toBe(onError === "allow" ? 200 : 503);
    const metrics = await (await fetch(`${world.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`parallama_limiter_errors_total\\{decision="${onError}"\\} [1-9]`));
    proxy.resume();
    let statuses: number[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(world.gateway, key)).status);
      if (statuses.includes(429)) break;
      await Bun.sleep(200);
    }
    expect(statuses).toContain(429);
  });
});
