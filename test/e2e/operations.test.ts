/** What an operator sees: metrics after real traffic, request logs without secrets, SIGHUP reopening logs, readiness. */
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startWorld, type World } from "./harness.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("operations: metrics, logs, health", () => {
  let world: World;
  let keys: string[];
  let logFile: string;

  beforeAll(async () => {
    world = await startWorld("sqlite", { logToFile: true });
    logFile = world.logFile!;
  });
  afterAll(() => world?.close());

  it("serves every metric family with labels and counts after real traffic", async () => {
    const alice = await world.user("ann", { limits: ["--requests-hourly", "3"] });
    keys = [alice, world.adminKey];
    const basic = `Basic ${Buffer.from(`x:${alice}`).toString("base64")}`;
    const chat = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "count me" }], stream: false });
    for (const headers of [bearer(alice), { "x-api-key": alice }, { authorization: basic }]) {
      await (await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers, body: chat })).arrayBuffer();
    }
    expect((await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: bearer(alice), body: chat })).status).toBe(429);
    expect((await fetch(`${world.gateway.url}/api/chat`, { method: "POST", body: chat })).status).toBe(401);
    expect((await fetch(`${world.gateway.url}/api/pull`, { method: "POST", headers: bearer(alice), body: "{}" })).status).toBe(403);

    const text = await (await fetch(`${world.gateway.url}/metrics`)).text();
    expect(text).toMatch(/parallama_requests_total\{endpoint="\/api\/chat",model="llama3.2:1b",status="200"\} 3/);
    expect(text).toMatch(/parallama_requests_total\{endpoint="\/api\/chat",model="llama3.2:1b",status="429"\} 1/);
    expect(text).toMatch(/parallama_tokens_total\{model="llama3.2:1b",direction="input"\} 6/);
    expect(text).toMatch(/parallama_tokens_total\{model="llama3.2:1b",direction="output"\} 15/);
    expect(text).toMatch(/parallama_rejections_total\{reason="limit_requests_hourly"\} 1/);
    expect(text).toMatch(/parallama_rejections_total\{reason="auth_missing"\} 1/);
    expect(text).toMatch(/parallama_rejections_total\{reason="policy_admin_only"\} 1/);
    expect(text).toMatch(/parallama_request_duration_seconds_count\{endpoint="\/api\/chat"\} \d+/);
    expect(text).toMatch(/parallama_upstream_ttfb_seconds_count\{endpoint="\/api\/chat"\} 3/);
    expect(text).toMatch(/parallama_overhead_seconds_count 3/);
    expect(text).toMatch(/parallama_in_flight_requests 0/);
    expect(text).toMatch(/parallama_usage_queue_depth \d+/);
    expect(text).toMatch(/parallama_usage_spill_bytes 0/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it("names in the Grafana dashboard only metrics that exist", async () => {
    const dashboard = readFileSync(join(ROOT, "docs/grafana-dashboard.json"), "utf8");
    const names = new Set([...dashboard.matchAll(/\b((?:parallama|process)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, "")));
    const text = await (await fetch(`${world.gateway.url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(5);
    for (const name of names) expect(exported, name).toContain(name);
  });

  it("logs one JSON line per request and never a key", async () => {
    await Bun.sleep(1500); // lines are buffered off the request path and written at least every second
    const lines = readLog(logFile);
    const requests = lines.filter((l) => l.path === "/api/chat");
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests[0]).toMatchObject({ user: "ann", method: "POST", model: "llama3.2:1b", status: 200, prompt_tokens: 2, completion_tokens: 5 });
    expect(typeof requests[0].id).toBe("string");
    expect(typeof requests[0].duration_ms).toBe("number");
    expect(requests[0].upstream_ms).toBeGreaterThan(0);
    expect(requests[0].upstream_ms).toBeLessThanOrEqual(requests[0].duration_ms);
    const everything = readFileSync(logFile, "utf8") + world.gateway.stdout;
    for (const key of keys) {
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(key.split("_")[2]!);
    }
  });

  it("reopens its log file on SIGHUP after logrotate moved it away", async () => {
    renameSync(logFile, `${logFile}.1`);
    world.gateway.proc.kill("SIGHUP");
    await Bun.sleep(200);
    await (await fetch(`${world.gateway.url}/api/tags`, { headers: bearer(world.adminKey) })).arrayBuffer();
    let found = false;
    for (let i = 0; i < 40 && !found; i++) {
      await Bun.sleep(100);
      world.gateway.proc.kill("SIGHUP");
      found = existsSync(logFile) && readLog(logFile).some((l) => l.path === "/api/tags");
    }
    expect(found).toBe(true);
  });

  it("reports readiness of store, limiter and upstream", async () => {
    const ready = await fetch(`${world.gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks).toEqual({ store: "ok", limiter: "ok", upstream: "ok" });
    expect((await fetch(`${world.gateway.url}/healthz`)).status).toBe(200);
    await world.emulator.stop();
    const down = await fetch(`${world.gateway.url}/readyz`);
    expect(down.status).toBe(503);
    expect((await down.json()).error).toBe("not ready: upstream unavailable");
  });
});

function readLog(file: string): any[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("TLS and a separate metrics address", () => {
  let world: World;
  let metricsPort: number;

  beforeAll(async () => {
    const dir = (await import("../support/tmp.ts")).tempDir();
    const cert = join(dir.path, "cert.pem");
    const key = join(dir.path, "key.pem");
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert]);
    if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    metricsPort = probe.port;
    probe.stop(true);
    world = await startWorld("sqlite", {
      config: { server: { host: "127.0.0.1", port: 0, tls: { cert, key } }, metrics: { listen: `127.0.0.1:${metricsPort}` } },
    });
  });
  afterAll(() => world?.close());

  it("serves HTTPS when server.tls is set, and /metrics only on metrics.listen", async () => {
    const url = world.gateway.url.replace("http:", "https:");
    const tls = { rejectUnauthorized: false };
    const res = await fetch(`${url}/api/version`, { headers: bearer(world.adminKey), tls } as RequestInit);
    expect(res.status).toBe(200);
    expect((await res.json()).version).toBeTruthy();
    expect((await fetch(`${url}/metrics`, { tls } as RequestInit)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("parallama_requests_total");
  });
});
