/**
 * The benchmark in its smoke mode: proves `scripts/bench` runs end to end (emulator, nginx, the two Bun floors, both
 * Parallama configurations, the memory run, the limiter drivers) and reports every figure.
 * No timing is asserted: on shared cores the numbers mean nothing here; only shape and errors.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CONFIGS = ["direct", "nginx", "bun-pipe", "bun-floor", "parallama-sqlite", "parallama-postgres"];
const WORKLOADS = ["chat", "chat-stream", "openai-stream"];
const PROXIES = CONFIGS.filter((c) => c !== "direct");

function isNumber(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value);
}

describe("scripts/bench --smoke", () => {
  const dir = tempDir("parallama-bench-test-");
  afterAll(() => dir.remove());

  it("reports every configuration and workload with numbers and no errors", async () => {
    const out = join(dir.path, "results.json");
    const proc = Bun.spawn(["sh", join(ROOT, "scripts/bench"), "--smoke", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("### Parallama / nginx");

    const results = JSON.parse(readFileSync(out, "utf8"));
    for (const config of CONFIGS) {
      for (const workload of WORKLOADS) {
        const cell = results.cells.find((c: { config: string; workload: string }) => c.config === config && c.workload === workload);
        expect(cell, `${config} ${workload}`).toBeDefined();
        const numbers = [cell.saturation.rps, cell.saturation.p50Us, cell.saturation.p99Us, cell.fixedRate.rps, cell.fixedRate.p50Us, cell.fixedRate.p99Us, cell.ttfcP50Us, cell.ttfcP99Us, cell.upstreamCpuUsPerRequest];
        if (workload !== "chat") numbers.push(cell.gapP50Us, cell.gapP99Us);
        if (config !== "direct") numbers.push(cell.cpuUsPerRequest, cell.peakRssMb, cell.addedP50Us, cell.addedP99Us, cell.addedTtfcUs);
        if (config === "parallama-postgres") numbers.push(cell.redisCallsPerRequest);
        for (const n of numbers) expect(isNumber(n), `${config} ${workload}: ${JSON.stringify(cell)}`).toBe(true);
        expect(cell.saturation.requests, `${config} ${workload}`).toBeGreaterThan(0);
        expect(cell.errors, `${config} ${workload}: ${JSON.stringify(cell.saturation.errorKinds)}`).toBe(0);
      }
    }
    for (const config of PROXIES.filter((c) => c !== "nginx")) {
      for (const workload of WORKLOADS) {
        const ratio = results.ratios.find((r: { config: string; workload: string }) => r.config === config && r.workload === workload);
        for (const key of ["rps", "cpu", "addedP99", "ttfcOverNginxUs"]) expect(isNumber(ratio?.[key]), `${config} ${workload} ${key}`).toBe(true);
      }
    }
    const m = results.memory;
    for (const key of ["rssBeforeMb", "rssPeakConcurrentMb", "rssPeakMb", "rssAtConcurrentMb", "rssAfterMb"]) expect(isNumber(m[key]), key).toBe(true);
    expect(m.errors).toBe(0);
    expect(m.completedStreams).toBe(m.concurrentStreams);
    expect(m.upstreamAborted).toBe(m.abortedStreams);
    expect(results.limiter.map((l: { driver: string }) => l.driver).sort()).toEqual(["memory", "redis"]);
    for (const t of results.targets) expect(isNumber(t.value), t.id).toBe(true);
  }, 240_000);
});

describe("scripts/bench --profile", () => {
  const dir = tempDir("parallama-bench-profile-");
  afterAll(() => dir.remove());

  it("writes Bun's CPU profile of the gateway under load, naming Parallama's own functions", async () => {
    const out = join(dir.path, "profile.md");
    const proc = Bun.spawn(["sh", join(ROOT, "scripts/bench"), "--profile", "chat", "--duration", "1", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code, stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("## Hot Functions (Self Time)");
    expect(text).toContain("src/front/exchange.ts");
  });

  it("refuses an unknown workload, naming it", async () => {
    const proc = Bun.spawn(["sh", join(ROOT, "scripts/bench"), "--profile", "nope"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('unknown workload "nope"');
  });
});
