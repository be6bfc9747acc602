/**
 * Limiter: per-user request, token and concurrency limits.
 *
 * Contract (every driver passes test/contract/limiter.contract.ts with identical results):
 * - Windows are sliding, approximated by two fixed buckets weighted by overlap:
 *   used = previous * (1 - elapsed / window) + current, so no burst doubles at a window edge.
 * - `admit` is atomic across every window of the user: it checks the concurrency slot, that
 *   every token window is under its limit, and that every request window has room for one
 *   more; only if all pass does it take the slot and charge one request to every request
 *   window. If any fails, nothing is charged and no slot is taken. Concurrent calls for one
 *   user (from one process or many sharing Redis) never admit more than the limits allow.
 * - `finish` releases the slot (idempotent) and adds the real token count to every token window.
 * - Check order: concurrency, then token windows (refused while used >= limit), then request
 *   windows (refused when used + 1 > limit); the first failing limit names the refusal, and
 *   `retryAfter` is the wait until every failing window would pass (1 s for concurrency alone,
 *   the window length for a limit of 0, which nothing passes). On admission the returned state
 *   already includes the charge. An admission without a concurrency limit has slot "".
 * - `finish` adds tokens on every call; only the slot release is idempotent.
 * - A slot not finished within `slotTtlMs` (default SLOT_TTL_MS; a gateway that died) expires by itself.
 * - `now` is injectable so the contract suite can move time; drivers never read the clock
 *   themselves when `now` is given. Without it, memory reads Date.now() and Redis reads the
 *   Redis server's TIME inside the script, so gateways with skewed clocks agree.
 * - A user with no limit at all is admitted without touching the backend.
 * - Across gateways sharing Redis, each may hold a lease (lease.ts): admissions charged ahead, at
 *   most 1/8 of what a window has left, and a pool of slots, which other gateways count as used
 *   until it comes back (at the next turn, or within LEASE_MS of going idle). Tokens another
 *   gateway settled are counted here within LEASE_MS. No gateway admits past a limit.
 * - Errors talking to the backend (Redis down) are thrown as LimiterUnavailable; the caller
 *   applies the configured on_error policy. Drivers never answer "allowed" on failure.
 */

import type { Limits } from "../store/store.ts";

export type WindowName = "requests_hourly" | "requests_daily" | "tokens_hourly" | "tokens_daily";
export type LimitKind = WindowName | "concurrency";

export const WINDOW_MS = { hour: 3_600_000, day: 86_400_000 } as const;

/**
 * How long an unfinished slot holds a place. Long enough for a slow model load plus a long
 * stream; short enough that a crashed gateway does not lock a user with concurrency 1 for long.
 */
export const SLOT_TTL_MS = 10 * 60_000;

export interface WindowState {
  name: WindowName;
  limit: number;
  /**
   * Whole units used, rounded so that `remaining >= 1` exactly when the next request passes this
   * window (ceil of the weighted count for requests, floor for tokens).
   */
  used: number;
  remaining: number;
  /** Milliseconds until `remaining` would grow by at least one (0 when nothing is used). */
  resetMs: number;
}

export interface LimitState {
  windows: WindowState[];
  concurrency: { limit: number; inFlight: number } | null;
}

export type Admission =
  | { ok: true; slot: string; state: LimitState }
  | {
      ok: false;
      /** The limit that refused the request. */
      kind: LimitKind;
      limit: number;
      /** Whole seconds until a retry could pass (at least 1). */
      retryAfter: number;
      state: LimitState;
    };

export class LimiterUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LimiterUnavailable";
  }
}

export interface Limiter {
  readonly driver: "memory" | "redis";
  admit(userId: string, limits: Limits, now?: number): Promise<Admission>;
  finish(userId: string, slot: string, tokens: number, limits: Limits, now?: number): Promise<void>;
  /** Current use of every window the user has, for RateLimit headers and /parallama/v1/me. */
  state(userId: string, limits: Limits, now?: number): Promise<LimitState>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
