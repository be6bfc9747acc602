/**
 * Bun allocates through mimalloc, which hands pages back to the kernel (madvise) 10 ms after they
 * empty. A gateway under load empties and refills pages all the time, so it paid for each hand-back
 * and for the page faults that refilled them: 15% of its CPU on 50-chunk streams (perf), and 10-80
 * µs a request. With a 250 ms delay, pages freed under load are reused instead (as much gain as
 * 2 s or never), and an idle gateway still returns them: mimalloc purges lazily, so at 2 s an idle
 * gateway kept 1.4x its RSS after the abort run, at 250 ms 1.09x (README, Benchmark). mimalloc
 * reads its options once, when the process starts, so `serve` re-executes itself (same pid, for
 * systemd) with the delay set, unless the operator set MIMALLOC_PURGE_DELAY already.
 */
export const PURGE_DELAY_MS = "250";

export function tuneAllocator(): void {
  if (process.env.MIMALLOC_PURGE_DELAY !== undefined || !process.execve) return;
  // A compiled binary sees ["bun", "/$bunfs/root/NAME", ...args]; `bun main.ts` sees [bun, main.ts, ...args].
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = process.argv.slice(compiled ? 2 : 1);
  process.execve(process.execPath, [process.execPath, ...args], { ...process.env, MIMALLOC_PURGE_DELAY: PURGE_DELAY_MS });
}
