/**
 * What happens when things go wrong: clients that leave, an upstream that is down or slow,
 * a database that vanishes under traffic, and SIGTERM under traffic. No usage row is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../support/gateway.ts";
import { type TcpProxy, startTcpProxy } from "../support/tcp-proxy.ts";
import { tempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait.ts";
import { bearer, DRIVERS, startWorld, type World } from "./harness.ts";

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "stream to me" }], ...extra });

describe.each(DRIVERS)("streaming and failures (%s)", (driver) => {
  let world: World;
  let key: string;

  beforeAll(async () => {
    world = await startWorld(driver);
    key = await world.user("kim");
  });
  afterAll(() => world?.close());

  it("delivers each chunk as the upstream produces it", async () => {
    const res = await fetch(`${world.gateway.url}/api/chat`, {
      method: "POST",
      headers: { ...bearer(key), "x-emulator": JSON.stringify({ chunks: 5, chunkDelayMs: 150 }) },
      body: chat(),
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"done":false');
    expect(world.emulator.inFlight).toBe(1); // the upstream is still producing the rest
    while (!(await reader.read()).done);
    expect(world.emulator.inFlight).toBe(0);
  });

  it("aborts the upstream when the client leaves mid-stream, and records a 499 with the tokens seen", async () => {
    const controller = new AbortController();
    const res = await fetch(`${world.gateway.url}/api/chat`, {
      method: "POST",
      headers: { ...bearer(key), "x-emulator": JSON.stringify({ chunks: 50, chunkDelayMs: 50 }) },
      body: chat({ messages: [{ role: "user", content: "abort me" }] }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await waitFor("the aborted upstream call", () => world.emulator.requests.some((r) => r.path === "/api/chat" && r.aborted), 5000);
    const rows = await world.report(["--by", "user", "--user", "kim"]);
    expect(rows[0]!.errors).toBe(1); // the aborted request, recorded as 499
    expect(rows[0]!.completion_tokens).toBeGreaterThanOrEqual(5 + 2); // the first stream's 5, and at least the 2 chunks read
  });

  it("answers 502 in Ollama's shape when the upstream is unreachable", async () => {
    const dir = tempDir();
    const down = await startGateway({ databaseUrl: world.databaseUrl, upstreamUrl: "http://127.0.0.1:1", dataDir: dir.path });
    try {
      const res = await fetch(`${down.url}/api/chat`, { method: "POST", headers: bearer(key), body: chat() });
      expect(res.status).toBe(502);
      expect((await res.json()).error).toMatch(/upstream Ollama unreachable/);
      const v1 = await fetch(`${down.url}/v1/chat/completions`, { method: "POST", headers: bearer(key), body: chat() });
      expect(v1.status).toBe(502);
      expect((await v1.json()).error.message).toMatch(/unreachable/);
    } finally {
      await down.stop();
      dir.remove();
    }
  });

  it("finishes every in-flight stream on SIGTERM and writes every usage row", async () => {
    const gw = await world.another();
    // Counted before the streams start: counting takes longer than a stream (a CLI run), so done
    // while they run, it could already include them.
    const before = (await world.report(["--by", "user", "--user", "kim"]))[0]!.requests;
    const streams = Array.from({ length: 8 }, () =>
      fetch(`${gw.url}/api/chat`, {
        method: "POST",
        headers: { ...bearer(key), "x-emulator": JSON.stringify({ chunks: 10, chunkDelayMs: 60 }) },
        body: chat({ messages: [{ role: "user", content: "drain me please" }] }),
      }).then((r) => r.text()),
    );
    await waitFor("8 calls in flight upstream", () => world.emulator.inFlight >= 8, 5000);
    gw.proc.kill("SIGTERM");
    const bodies = await Promise.all(streams);
    for (const body of bodies) expect(body.trim().split("\n").at(-1)).toContain('"done":true');
    expect(await gw.proc.exited).toBe(0);
    const after = (await world.report(["--by", "user", "--user", "kim"]))[0]!.requests;
    expect(after - before).toBe(8);
  });

  it("cuts the client's stream when the upstream dies mid-stream, and records it as failed (last: stops the emulator)", async () => {
    const before = (await world.report(["--by", "user", "--user", "kim"]))[0]!.errors;
    const res = await fetch(`${world.gateway.url}/api/chat`, {
      method: "POST",
      headers: { ...bearer(key), "x-emulator": JSON.stringify({ chunks: 50, chunkDelayMs: 50 }) },
      body: chat(),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await world.emulator.stop();
    let text = "";
    const cut = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return false;
          text += new TextDecoder().decode(value);
        }
      } catch {
        return true;
      }
    })();
    expect(cut).toBe(true);
    expect(text).not.toContain('"done":true');
    await waitFor("kim's failed request in the report", async () => (await world.report(["--by", "user", "--user", "kim"]))[0]!.errors === before + 1, 5000);
  });
});

describe("a database outage under traffic (postgres)", () => {
  let world: World;
  let proxy: TcpProxy;

  beforeAll(async () => {
    world = await startWorld("postgres", {
      databaseUrl: async (url) => {
        const target = new URL(url);
        proxy = await startTcpProxy(target.hostname, Number(target.port));
        target.host = proxy.address;
        return target.toString();
      },
    });
  });
  afterAll(async () => {
    await world?.close();
    proxy?.stop();
  });

  it("keeps serving keys it knows, holds usage rows, and writes every one when the database is back", async () => {
    const key = await world.user("lee");
    const send = () => fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: bearer(key), body: chat({ stream: false }) });
    expect((await send()).status).toBe(200);
    proxy.pause();
    const statuses = await Promise.all(Array.from({ length: 30 }, send).map((p) => p.then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    await Bun.sleep(500);
    proxy.resume();
    await waitFor("lee's 31 requests in the report", async () => ((await world.report(["--by", "user", "--user", "lee"]))[0]?.requests ?? 0) === 31, 15_000);
  });
});

describe("a model that takes longer to load than Bun's default idle timeout (10 s)", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld("sqlite");
  });
  afterAll(() => world?.close());

  it("keeps the client's connection until the first token, then streams", async () => {
    const key = await world.user("max");
    const started = Date.now();
    const res = await fetch(`${world.gateway.url}/api/chat`, {
      method: "POST",
      headers: { ...bearer(key), "x-emulator": JSON.stringify({ firstTokenDelayMs: 11_000, chunks: 3 }) },
      body: chat(),
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(11_000);
    expect(body.trim().split("\n").at(-1)).toContain('"done":true');
  }, 30_000);
});
