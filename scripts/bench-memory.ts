/**
 * The memory run against one gateway: many concurrent slow streams, then many streams aborted by
 * their clients after the first chunk. RSS before, at the peak of each phase and after; the emulator must have seen
 * every aborted request's upstream call aborted too.
 */
import { rssMb } from "./bench-procs.ts";
import type { EmulatorProcess, Target } from "./bench-targets.ts";
import { WORKLOADS } from "./bench-workloads.ts";

export interface MemoryResult {
  concurrentStreams: number;
  /** Most upstream requests the emulator had in flight at once during the concurrent phase. */
  peakUpstreamInFlight: number;
  completedStreams: number;
  abortedStreams: number;
  /** Upstream requests the emulator saw aborted during the abort phase. */
  upstreamAborted: number;
  rssBeforeMb: number;
  /** Highest RSS sampled (every 50 ms) while the concurrent streams were open. */
  rssPeakConcurrentMb: number;
  /** Highest RSS sampled over the whole run, the abort phase included. */
  rssPeakMb: number;
  /** RSS at the end of the concurrent phase (all streams open). */
  rssAtConcurrentMb: number;
  rssAfterMb: number;
  errors: number;
}

const chat = WORKLOADS.find((w) => w.name === "chat-stream")!;

function request(target: Target, emulator: Record<string, number>, signal?: AbortSignal): Promise<Response> {
  return fetch(target.url + chat.path, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers, "x-emulator": JSON.stringify(emulator) },
    body: chat.body,
    signal,
  });
}

export async function memoryRun(target: Target, emulator: EmulatorProcess, opts: { concurrent: number; aborted: number; abortParallel: number; settleMs: number }): Promise<MemoryResult> {
  const pid = target.pid!;
  let peak = rssMb(pid);
  let peakUpstream = 0;
  let errors = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  try {
    // Warm the gateway first, so "before" is a running gateway's level and not a cold start's.
    for (let i = 0; i < 200; i++) await (await request(target, { chunks: 5 })).arrayBuffer();
    await Bun.sleep(opts.settleMs);
    const rssBeforeMb = rssMb(pid);

    // Phase 1: every stream open at once; each sends 20 chunks 100 ms apart (2 s), read to the end.
    const streamMs = 2000;
    const poller = (async () => {
      const deadline = Date.now() + streamMs + 30_000;
      while (Date.now() < deadline) {
        const s = await emulator.stats();
        peakUpstream = Math.max(peakUpstream, s.inFlight);
        if (peakUpstream >= opts.concurrent) return;
        await Bun.sleep(20);
      }
    })();
    let completed = 0;
    let rssAtConcurrentMb = 0;
    const streams = Array.from({ length: opts.concurrent }, async () => {
      try {
        const response = await request(target, { chunks: 20, chunkDelayMs: streamMs / 20 }, AbortSignal.timeout(60_000));
        const text = await response.text();
        if (response.status === 200 && text.includes('"done":true')) completed++;
        else errors++;
      } catch {
        errors++;
      }
    });
    await poller;
    rssAtConcurrentMb = rssMb(pid);
    await Promise.all(streams);
    const rssPeakConcurrentMb = Math.max(peak, rssMb(pid));

    // Phase 2: streams aborted by the client once their first chunk arrived.
    const before = (await emulator.stats()).aborted;
    let started = 0;
    let aborted = 0;
    const worker = async () => {
      while (started < opts.aborted) {
        started++;
        const controller = new AbortController();
        try {
          const response = await request(target, { chunks: 50, chunkDelayMs: 50 }, controller.signal);
          const reader = response.body!.getReader();
          await reader.read();
          controller.abort();
          aborted++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.abortParallel }, worker));
    let upstreamAborted = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      upstreamAborted = (await emulator.stats()).aborted - before;
      if (upstreamAborted >= aborted) break;
      await Bun.sleep(100);
    }
    await Bun.sleep(opts.settleMs);
    return {
      concurrentStreams: opts.concurrent,
      peakUpstreamInFlight: peakUpstream,
      completedStreams: completed,
      abortedStreams: aborted,
      upstreamAborted,
      rssBeforeMb,
      rssPeakConcurrentMb,
      rssPeakMb: Math.max(peak, rssMb(pid)),
      rssAtConcurrentMb,
      rssAfterMb: rssMb(pid),
      errors,
    };
  } finally {
    clearInterval(sampler);
  }
}
