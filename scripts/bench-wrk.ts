/**
 * Load from wrk (C, one thread): a Lua script sets the POST body and headers and prints the
 * summary as one JSON line from wrk's done() hook, latencies in microseconds. wrk reads chunked
 * bodies with a real HTTP parser, so a stream counts as one request when its last chunk arrives.
 * A fixed rate comes from wrk's delay() hook: each connection waits a random 0..2×mean ms before
 * its next request, so the mean rate is connections / mean delay without lock-step bursts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Workload {
  name: "chat" | "chat-stream" | "openai-stream";
  title: string;
  path: string;
  body: string;
  headers: Record<string, string>;
  streamed: boolean;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  errorKinds: Record<string, number>;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface WrkRun {
  url: string;
  workload: Workload;
  /** Extra headers (the key for Parallama). */
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** Mean delay between two requests on one connection (fixed-rate runs). */
  delayMs?: number;
}

const dir = mkdtempSync(join(tmpdir(), "parallama-bench-wrk-"));
let scripts = 0;

function luaString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function script(run: WrkRun): string {
  const headers = { "content-type": "application/json", ...run.workload.headers, ...run.headers };
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${luaString(run.workload.body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
  ];
  if (run.delayMs !== undefined) {
    lines.push(`local mean = ${Math.max(1, Math.round(run.delayMs))}`, "function delay() return math.random(0, 2 * mean) end");
  }
  lines.push(
    "function done(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format(\'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d,"mean":%.1f}\\n\',',
    "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,",
    "    latency:percentile(50), latency:percentile(99), latency.mean))",
    "end",
  );
  const file = join(dir, `run-${++scripts}.lua`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

export async function wrk(run: WrkRun): Promise<WrkResult> {
  const file = script(run);
  const args = ["wrk", "-t1", `-c${run.connections}`, `-d${run.durationS}s`, "--timeout", "10s", "-s", file, run.url + run.workload.path];
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = /WRKJSON (\{.*\})/.exec(out)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${err || out}`);
  const j = JSON.parse(line) as Record<string, number>;
  const seconds = j.duration_us! / 1e6;
  const errorKinds = { connect: j.connect!, read: j.read!, write: j.write!, status: j.status!, timeout: j.timeout! };
  return {
    requests: j.requests!,
    seconds,
    rps: j.requests! / seconds,
    errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
    errorKinds,
    p50Us: j.p50!,
    p99Us: j.p99!,
    meanUs: j.mean!,
  };
}
