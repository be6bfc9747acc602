/**
 * Sliding-window arithmetic on two fixed buckets, shared by every driver so their answers are
 * identical. The Redis scripts repeat `usedAt` and `passes` in Lua with the same operations in the
 * same order (both languages compute in IEEE doubles), so Lua's decision and this module's report
 * never disagree.
 */

import type { WindowState } from "./limiter.ts";
import type { WindowSpec } from "./windows.ts";

/** One window's counts: the fixed bucket number `index` (time / window) and the one before it. */
export interface Buckets {
  index: number;
  prev: number;
  cur: number;
}

export function bucketIndex(at: number, ms: number): number {
  return Math.floor(at / ms);
}

/** Moves buckets forward to `index` in place. Time that runs backwards (clock skew) keeps the newer buckets. */
export function rollTo(b: Buckets, index: number): void {
  if (index <= b.index) return;
  b.prev = index === b.index + 1 ? b.cur : 0;
  b.cur = 0;
  b.index = index;
}

/**
 * Weighted use at time `at`: the previous bucket counts for the part of it still inside the window.
 * A time before the newest bucket (clock skew between callers) counts as that bucket's start.
 */
export function usedAt(b: Buckets, at: number, ms: number): number {
  const { prev, cur, elapsed } = seenAt(b, Math.max(at, b.index * ms), ms);
  return prev * (1 - elapsed / ms) + cur;
}

function seenAt(b: Buckets, at: number, ms: number): { prev: number; cur: number; elapsed: number } {
  const index = bucketIndex(at, ms);
  const gap = index - b.index;
  return {
    prev: gap === 0 ? b.prev : gap === 1 ? b.cur : 0,
    cur: gap === 0 ? b.cur : 0,
    elapsed: at - index * ms,
  };
}

/**
 * Whole units used, rounded so that `remaining >= 1` exactly when the next request passes:
 * request windows pass when ceil(used) < limit (used + 1 <= limit), token windows when
 * floor(used) < limit (used < limit).
 */
function wholeUsed(used: number, tokens: boolean): number {
  return tokens ? Math.floor(used) : Math.ceil(used);
}

/** Whole units used at `now`; the next request passes the window exactly when this is below its limit. */
export function wholeUsedAt(spec: WindowSpec, b: Buckets, now: number): number {
  return wholeUsed(usedAt(b, now, spec.ms), spec.tokens);
}

export function windowState(spec: WindowSpec, limit: number, b: Buckets, now: number): WindowState {
  const used = wholeUsedAt(spec, b, now);
  return {
    name: spec.name,
    limit,
    used,
    remaining: Math.max(0, limit - used),
    resetMs: resetMs(spec, limit, b, now, used),
  };
}

/**
 * Milliseconds until `remaining` grows by at least one: until the whole used count drops to
 * min(used, limit) - 1. 0 when nothing is used; the window length when the limit is 0 (never).
 */
function resetMs(spec: WindowSpec, limit: number, b: Buckets, now: number, used: number): number {
  if (limit === 0) return spec.ms;
  if (used === 0) return 0;
  const target = Math.min(used, limit) - 1;
  // The closed form is exact in real numbers; floating point may put it a millisecond off either way.
  let t = Math.max(0, Math.ceil(crossing(b, now, spec.ms, spec.tokens ? target + 1 : target)));
  while (t > 0 && wholeUsedAt(spec, b, now + t - 1) <= target) t--;
  while (wholeUsedAt(spec, b, now + t) > target) t++;
  return t;
}

/** Milliseconds from `now` until the weighted use falls to `x` (0 <= x < use now). */
function crossing(b: Buckets, now: number, ms: number, x: number): number {
  const from = Math.max(now, b.index * ms);
  const { prev, cur, elapsed } = seenAt(b, from, ms);
  const wait = from - now;
  // Within this bucket only the previous bucket's weight decays; once it has gone, the current
  // bucket becomes the previous one and decays over the next window.
  if (prev > 0 && cur <= x) return wait + ms * (1 - (x - cur) / prev) - elapsed;
  return wait + ms - elapsed + ms * (1 - x / cur);
}
