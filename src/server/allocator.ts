/**
 * Bun allocates through mimalloc, which hands pages back to the kernel (madvise) 10 ms after they
 * empty. A gateway under load empties and refills pages all the time, so it paid for each hand-back
 * and for the page faults that refilled them: 15% of its CPU on 50-chunk streams (perf), and 10-80
 * µs a request. With a 2 s delay, pages freed under load are reused instead (shorter delays gave
 * back part of the gain in the interleaved bench). mimalloc reads its options once, when the
 * process starts, so `serve` re-executes itself (same pid, for systemd) with the delay set, unless
 * the operator set MIMALLOC_PURGE_DELAY already.
 *
 * mimalloc purges lazily, on its own later calls, so a gateway gone idle kept 1.4x its RSS after
 * the abort run; releaseWhenIdle collects (JS heap and mimalloc) once traffic has stopped.
 */
export const PURGE_DELAY_MS = "2000";

export function tuneAllocator(): void {
  if (process.env.MIMALLOC_PURGE_DELAY !== undefined || !process.execve) return;
  // A compiled binary sees ["bun", "/$bunfs/root/NAME", ...args]; `bun main.ts` sees [bun, main.ts, ...args].
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = process.argv.slice(compiled ? 2 : 1);
  try {
    process.execve(process.execPath, [process.execPath, ...args], { ...process.env, MIMALLOC_PURGE_DELAY: PURGE_DELAY_MS });
  } catch {
    // The executable cannot be run again (moved away, or a sandbox without execve): serve untuned.
  }
}

const IDLE_CHECK_MS = 1000;

/** Runs a full collection once after each spell of traffic, when `completed` has stood still for two checks. */
export function releaseWhenIdle(completed: () => number, collect = () => Bun.gc(true), checkMs = IDLE_CHECK_MS): () => void {
  let last = completed();
  let quietChecks = 0;
  let released = true;
  const timer = setInterval(() => {
    const now = completed();
    if (now !== last) {
      last = now;
      quietChecks = 0;
      released = false;
      return;
    }
    if (released || ++quietChecks < 2) return;
    released = true;
    collect();
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
