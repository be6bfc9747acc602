/**
 * The one metric the load generators do not give: when the first body chunk arrives, and the
 * gaps between chunks. A few requests at a time from this process (Bun's fetch), so the client's
 * own cost is the same for every configuration and cancels out in "added over direct".
 */
import type { Workload } from "./bench-wrk.ts";

export interface ProbeResult {
  /** Time to first body chunk, request start to first non-empty read. */
  ttfcP50Us: number;
  ttfcP99Us: number;
  /** Gap between two chunk arrivals while the upstream sends one every `chunkDelayMs`. */
  gapP50Us: number;
  gapP99Us: number;
  errors: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Timing {
  ttfcUs: number;
  gapsUs: number[];
  ok: boolean;
}

async function once(url: string, workload: Workload, headers: Record<string, string>, emulator: Record<string, number> | null): Promise<Timing> {
  const h: Record<string, string> = { "content-type": "application/json", ...workload.headers, ...headers };
  if (emulator) h["x-emulator"] = JSON.stringify({ ...JSON.parse(workload.headers["x-emulator"] ?? "{}"), ...emulator });
  const started = performance.now();
  const response = await fetch(url + workload.path, { method: "POST", headers: h, body: workload.body });
  const reader = response.body!.getReader();
  let first = 0;
  let last = 0;
  const gapsUs: number[] = [];
  for (let reads = 0; reads < 100_000; reads++) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value || value.byteLength === 0) continue;
    const now = performance.now();
    if (first === 0) first = now;
    else gapsUs.push((now - last) * 1000);
    last = now;
  }
  return { ttfcUs: (first - started) * 1000, gapsUs, ok: response.status === 200 };
}

/** `count` requests, `parallel` at a time, for time to first chunk; then `gapCount` paced streams for the gaps. */
export async function probe(url: string, workload: Workload, headers: Record<string, string>, opts: { count: number; parallel: number; gapCount: number; chunkDelayMs: number }): Promise<ProbeResult> {
  const ttfc: number[] = [];
  const gaps: number[] = [];
  let errors = 0;
  const run = async (n: number, emulator: Record<string, number> | null, onTiming: (t: Timing) => void) => {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        try {
          const t = await once(url, workload, headers, emulator);
          if (!t.ok) errors++;
          onTiming(t);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.parallel }, worker));
  };
  await run(opts.count, null, (t) => ttfc.push(t.ttfcUs));
  if (workload.streamed) {
    await run(opts.gapCount, { chunkDelayMs: opts.chunkDelayMs }, (t) => gaps.push(...t.gapsUs));
  }
  return {
    ttfcP50Us: percentile(ttfc, 50),
    ttfcP99Us: percentile(ttfc, 99),
    gapP50Us: percentile(gaps, 50),
    gapP99Us: percentile(gaps, 99),
    errors,
  };
}
