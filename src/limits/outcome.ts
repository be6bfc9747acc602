/** Turning raw counts into the state and answers of the Limiter contract, shared by every driver. */

import type { Limits } from "../store/store.ts";
import type { Admission, LimitState, WindowState } from "./limiter.ts";
import { type Buckets, wholeUsedAt, windowState } from "./sliding.ts";
import { CHECK_ORDER, CONCURRENCY, KINDS, WINDOWS } from "./windows.ts";

/** The state of a user without any limit. */
export function noLimitsState(): LimitState {
  return { windows: [], concurrency: null };
}

/** `buckets` and the result follow WINDOWS order; windows without a limit are left out. */
export function stateFrom(limits: Limits, now: number, buckets: readonly Buckets[], inFlight: number): LimitState {
  const windows = [];
  for (let i = 0; i < WINDOWS.length; i++) {
    const spec = WINDOWS[i]!;
    const limit = spec.limit(limits);
    if (limit !== null) windows.push(windowState(spec, limit, buckets[i]!, now));
  }
  return {
    windows,
    concurrency: limits.concurrency === null ? null : { limit: limits.concurrency, inFlight },
  };
}

/** Adds `amount` to the current bucket of every limited window of one kind (requests or tokens). */
export function charge(buckets: readonly Buckets[], limits: Limits, amount: number, tokens: boolean): void {
  for (let i = 0; i < WINDOWS.length; i++) {
    const spec = WINDOWS[i]!;
    if (spec.tokens === tokens && spec.limit(limits) !== null) buckets[i]!.cur += amount;
  }
}

/** The KINDS code of the first limit that refuses, in check order, or null when all pass. */
export function firstFailure(limits: Limits, now: number, buckets: readonly Buckets[], inFlight: number): number | null {
  if (limits.concurrency !== null && inFlight >= limits.concurrency) return CONCURRENCY;
  for (const i of CHECK_ORDER) {
    const spec = WINDOWS[i]!;
    const limit = spec.limit(limits);
    if (limit !== null && wholeUsedAt(spec, buckets[i]!, now) >= limit) return i;
  }
  return null;
}

/**
 * A refusal naming the first failing limit. retryAfter covers every failing window, since the
 * request passes only when all do; a full concurrency pool gives no date, so it asks for 1 second.
 */
export function refusal(code: number, state: LimitState): Admission {
  const kind = KINDS[code]!;
  let waitMs = 1000;
  for (const w of state.windows) if (w.remaining === 0) waitMs = Math.max(waitMs, w.resetMs);
  const limit =
    kind === "concurrency" ? state.concurrency!.limit : state.windows.find((w) => w.name === kind)!.limit;
  return { ok: false, kind, limit, retryAfter: Math.ceil(waitMs / 1000), state };
}

/**
 * The window a client is closest to hitting: the smallest remaining; on a tie the longest
 * reset, since a client waiting only for the shorter one would still be refused by the other.
 * null when the user has no window limit.
 */
export function tightestWindow(state: LimitState): WindowState | null {
  let best: WindowState | null = null;
  for (const w of state.windows) {
    if (!best || w.remaining < best.remaining || (w.remaining === best.remaining && w.resetMs > best.resetMs)) best = w;
  }
  return best;
}
