/** Derived figures (added latency, ratios to nginx, the targets) and the markdown report. */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { LimiterCost } from "./bench-limiter.ts";
import type { MemoryResult } from "./bench-memory.ts";

export interface Cell {
  config: string;
  workload: string;
  saturation: { rps: number; p50Us: number; p99Us: number; requests: number; errors: number; errorKinds: Record<string, number> };
  fixedRate: { targetRps: number; rps: number; p50Us: number; p99Us: number; errors: number };
  ttfcP50Us: number;
  ttfcP99Us: number;
  gapP50Us: number | null;
  gapP99Us: number | null;
  errors: number;
  /** CPU of the proxy's process tree per request served in the saturation run; null for direct. */
  cpuUsPerRequest: number | null;
  upstreamCpuUsPerRequest: number;
  peakRssMb: number | null;
  redisCallsPerRequest: number | null;
  /** Filled by derive(): over direct at the fixed rate, and time to first chunk. */
  addedP50Us?: number;
  addedP99Us?: number;
  addedTtfcUs?: number;
}

export interface Ratio {
  config: string;
  workload: string;
  rps: number;
  cpu: number;
  addedP99: number;
  /** Added time to first chunk minus nginx's, in µs. */
  ttfcOverNginxUs: number;
}

export interface Target {
  id: string;
  text: string;
  value: number;
  limit: number;
  met: boolean;
}

export interface Results {
  version: 1;
  smoke: boolean;
  date: string;
  machine: { nproc: number; cpu: string; memGb: number; kernel: string; bun: string; nginx: string; wrk: string };
  settings: unknown;
  cells: Cell[];
  memory: (MemoryResult & { config: string }) | null;
  limiter: LimiterCost[];
  ratios: Ratio[];
  targets: Target[];
  elapsedS: number;
}

/** Below this, a difference of two p99s measured on shared cores is noise. */
export const NOISE_FLOOR_US = 100;
export const PARALLAMA = ["parallama-sqlite", "parallama-postgres"];
/** Reported against nginx beside Parallama, as floors of a gateway on Bun (its sockets; its HTTP server and fetch); no target applies to them. */
const FLOORS = ["bun-pipe", "bun-floor"];
const STREAMS = ["chat-stream", "openai-stream"];

export function derive(cells: Cell[], memory: Results["memory"]): Pick<Results, "ratios" | "targets"> {
  const find = (config: string, workload: string) => cells.find((c) => c.config === config && c.workload === workload);
  for (const cell of cells) {
    const d = find("direct", cell.workload);
    if (!d) continue;
    cell.addedP50Us = cell.fixedRate.p50Us - d.fixedRate.p50Us;
    cell.addedP99Us = cell.fixedRate.p99Us - d.fixedRate.p99Us;
    cell.addedTtfcUs = cell.ttfcP50Us - d.ttfcP50Us;
  }
  const ratios: Ratio[] = [];
  for (const cell of cells) {
    const n = find("nginx", cell.workload);
    if (!(PARALLAMA.includes(cell.config) || FLOORS.includes(cell.config)) || !n) continue;
    ratios.push({
      config: cell.config,
      workload: cell.workload,
      rps: cell.saturation.rps / Math.max(1e-9, n.saturation.rps),
      cpu: (cell.cpuUsPerRequest ?? 0) / Math.max(1e-9, n.cpuUsPerRequest ?? 0),
      // What nginx adds to p99 is within the noise of shared cores (it can even come out negative):
      // hold the denominator at NOISE_FLOOR_US or more so the ratio says something.
      addedP99: (cell.addedP99Us ?? 0) / Math.max(NOISE_FLOOR_US, n.addedP99Us ?? 0),
      ttfcOverNginxUs: (cell.addedTtfcUs ?? 0) - (n.addedTtfcUs ?? 0),
    });
  }
  const targets: Target[] = [];
  const add = (id: string, text: string, value: number, limit: number, atMost: boolean) => targets.push({ id, text, value, limit, met: atMost ? value <= limit : value >= limit });
  for (const r of ratios.filter((x) => PARALLAMA.includes(x.config))) {
    const who = r.config.replace("parallama-", "");
    if (r.workload === "chat") {
      add(`rps.${who}.chat`, `(a) ${r.config} req/s / nginx`, r.rps, who === "sqlite" ? 0.6 : 0.5, false);
      add(`cpu.${who}.chat`, `(a) ${r.config} CPU per request / nginx`, r.cpu, 2.5, true);
      add(`p99.${who}.chat`, `(a) ${r.config} added p99 at 500 req/s / nginx's`, r.addedP99, 2, true);
    } else if (STREAMS.includes(r.workload)) {
      const label = r.workload === "chat-stream" ? "(b)" : "(c)";
      add(`rps.${who}.${r.workload}`, `${label} ${r.config} req/s / nginx`, r.rps, 0.8, false);
      add(`ttfc.${who}.${r.workload}`, `${label} ${r.config} added time to first chunk - nginx's (ms)`, r.ttfcOverNginxUs / 1000, 1, true);
    }
  }
  add("errors", "errors, every configuration and workload", cells.reduce((s, c) => s + c.errors, 0) + (memory?.errors ?? 0), 0, true);
  if (memory) {
    add("rss.peak", `peak RSS while ${memory.concurrentStreams} concurrent streams are open (MB)`, memory.rssPeakConcurrentMb, 150, true);
    add("rss.after", "RSS after the abort run / before", memory.rssAfterMb / Math.max(1e-9, memory.rssBeforeMb), 1.2, true);
    add("aborts", "client aborts not seen upstream", memory.abortedStreams - memory.upstreamAborted, 0, true);
  }
  return { ratios, targets };
}

function versionOf(cmd: string[]): string {
  try {
    const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return `${p.stdout.toString()}${p.stderr.toString()}`.split("\n").find((l) => l.trim())?.trim() ?? "";
  } catch {
    return "not found";
  }
}

export function machine(): Results["machine"] {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  return {
    nproc: cpus().length,
    cpu: model,
    memGb: Math.round(totalmem() / 2 ** 30),
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    nginx: versionOf(["nginx", "-v"]),
    wrk: versionOf(["wrk", "-v"]),
  };
}

const f0 = (n: number | null | undefined) => (n == null ? "–" : Math.round(n).toLocaleString("en-US"));
const f2 = (n: number | null | undefined) => (n == null ? "–" : n.toFixed(2));
/** Two decimals, or three where two would print the limit itself beside a verdict it does not earn (0.597 against ≥ 0.6). */
export const targetValue = (t: Target) => (!t.met && f2(t.value) === f2(t.limit) ? t.value.toFixed(3) : f2(t.value));
const ms = (us: number | null | undefined) => (us == null ? "–" : (us / 1000).toFixed(2));

export function markdown(r: Results): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`## Parallama benchmark${r.smoke ? " (smoke: numbers are not meaningful)" : ""}`, "");
  lines.push(`${m.nproc} cores (${m.cpu}), ${m.memGb} GB; Bun ${m.bun}; ${m.nginx}; ${m.wrk.split(" [")[0]}. Load generator, emulator and proxy share the cores.`, "");
  const titles: Record<string, string> = { chat: "(a) /api/chat, small, not streamed", "chat-stream": "(b) /api/chat streamed, 50 chunks", "openai-stream": "(c) /v1/chat/completions streamed, 50 chunks" };
  for (const workload of Object.keys(titles)) {
    lines.push(`### ${titles[workload]}`, "");
    lines.push("| configuration | req/s (saturation) | proxy CPU µs/req | p50 / p99 @500 req/s (ms) | added p50 / p99 (µs) | first chunk p50 (ms) | added first chunk (µs) | chunk gap p50 / p99 (ms) | errors | peak RSS (MB) |");
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of r.cells.filter((x) => x.workload === workload)) {
      const added = c.config === "direct" ? "–" : `${f0(c.addedP50Us)} / ${f0(c.addedP99Us)}`;
      const gap = c.gapP50Us == null ? "–" : `${ms(c.gapP50Us)} / ${ms(c.gapP99Us)}`;
      lines.push(
        `| ${c.config} | ${f0(c.saturation.rps)} | ${f0(c.cpuUsPerRequest)} | ${ms(c.fixedRate.p50Us)} / ${ms(c.fixedRate.p99Us)} | ${added} | ${ms(c.ttfcP50Us)} | ${c.config === "direct" ? "–" : f0(c.addedTtfcUs)} | ${gap} | ${c.errors} | ${f0(c.peakRssMb)} |`,
      );
    }
    lines.push("");
  }
  lines.push("### Parallama / nginx", "");
  lines.push(`Added p99: nginx's added p99 is held at ≥ ${NOISE_FLOOR_US} µs in the denominator (below that it is noise on shared cores).`, "");
  lines.push("| configuration | workload | req/s | CPU per request | added p99 @500 | added first chunk − nginx's (µs) |");
  lines.push("|---|---|---:|---:|---:|---:|");
  for (const x of r.ratios) lines.push(`| ${x.config} | ${x.workload} | ${f2(x.rps)}× | ${f2(x.cpu)}× | ${f2(x.addedP99)}× | ${f0(x.ttfcOverNginxUs)} |`);
  lines.push("", "### Targets (issue 6)", "", "| target | value | limit | met |", "|---|---:|---:|---|");
  for (const t of r.targets) lines.push(`| ${t.text} | ${targetValue(t)} | ${t.id.startsWith("rps") ? "≥" : "≤"} ${t.limit} | ${t.met ? "met" : "**not met**"} |`);
  if (r.memory) {
    const mm = r.memory;
    lines.push("", `### Memory run (${mm.config})`, "");
    lines.push(`${mm.concurrentStreams} concurrent slow streams (20 chunks, 100 ms apart; ${mm.peakUpstreamInFlight} in flight upstream at once, ${mm.completedStreams} completed), then ${mm.abortedStreams} streams aborted by their clients after the first chunk (${mm.upstreamAborted} seen aborted upstream).`, "");
    lines.push("| RSS before | at all streams open | peak while open | peak over the whole run (aborts included) | after aborts | errors |", "|---:|---:|---:|---:|---:|---:|");
    lines.push(`| ${f0(mm.rssBeforeMb)} MB | ${f0(mm.rssAtConcurrentMb)} MB | ${f0(mm.rssPeakConcurrentMb)} MB | ${f0(mm.rssPeakMb)} MB | ${f0(mm.rssAfterMb)} MB | ${mm.errors} |`);
  }
  const pg = r.cells.find((c) => c.config === "parallama-postgres" && c.workload === "chat");
  lines.push("", "### Limiter cost per request (admit + finish, in process)", "", "| driver | one at a time (µs) | 64 in flight (µs each) |", "|---|---:|---:|");
  for (const l of r.limiter) lines.push(`| ${l.driver} | ${f2(l.serialUs)} | ${f2(l.parallel64Us)} |`);
  if (pg?.redisCallsPerRequest != null) lines.push("", `Redis round trips (script calls) per request through the gateway, (a) at saturation: ${pg.redisCallsPerRequest.toPrecision(2)}. A busy user's gateway holds a lease (admissions charged ahead, a pool of slots) and decides most requests without a round trip; the rest, and the lease's renewals, go as one script call per user and round trip (counted server-wide from INFO commandstats).`);
  lines.push("");
  return `${lines.join("\n")}\n`;
}
