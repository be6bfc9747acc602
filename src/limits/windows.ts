/** The four windows every driver keeps, in one fixed order shared by memory, Redis and state. */

import type { Limits } from "../store/store.ts";
import { WINDOW_MS, type LimitKind, type WindowName } from "./limiter.ts";

export interface WindowSpec {
  name: WindowName;
  ms: number;
  /** Token windows refuse while used >= limit; request windows refuse when used + 1 > limit. */
  tokens: boolean;
  limit(limits: Limits): number | null;
}

/** Storage and reporting order. Redis scripts index windows by this order (1-based in Lua). */
export const WINDOWS: readonly WindowSpec[] = [
  { name: "requests_hourly", ms: WINDOW_MS.hour, tokens: false, limit: (l) => l.requestsHourly },
  { name: "requests_daily", ms: WINDOW_MS.day, tokens: false, limit: (l) => l.requestsDaily },
  { name: "tokens_hourly", ms: WINDOW_MS.hour, tokens: true, limit: (l) => l.tokensHourly },
  { name: "tokens_daily", ms: WINDOW_MS.day, tokens: true, limit: (l) => l.tokensDaily },
];

/**
 * Check order after concurrency: token windows first (they refuse outright), then request windows.
 * Indexes into WINDOWS; the first failing one names the refusal.
 */
export const CHECK_ORDER: readonly number[] = [2, 3, 0, 1];

/** Refusal codes shared with the Lua scripts: WINDOWS indexes, then concurrency. */
export const KINDS: readonly LimitKind[] = [...WINDOWS.map((w) => w.name), "concurrency"];
export const CONCURRENCY = 4;

/** True when no limit applies, so a driver can answer without any bookkeeping. */
export function unlimited(limits: Limits): boolean {
  return (
    limits.concurrency === null &&
    limits.requestsHourly === null &&
    limits.requestsDaily === null &&
    limits.tokensHourly === null &&
    limits.tokensDaily === null
  );
}

/** True when finishing with these limits needs no bookkeeping beyond releasing the slot. */
export function noTokenLimits(limits: Limits): boolean {
  return limits.tokensHourly === null && limits.tokensDaily === null;
}
