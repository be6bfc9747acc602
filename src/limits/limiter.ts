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
 * - A slot not finished within `slotTtlMs` (a gateway that died) expires by itself.
 * - `now` is injectable so the contract suite can move time; drivers never read the clock
 *   themselves when `now` is given.
 * - Errors talking to the backend (Redis down) are thrown as LimiterUnavailable; the caller
 *   applies the configured on_error policy. Drivers never answer "allowed" on failure.
 */

import type { Limits } from "../store/store.ts";

export type WindowName = "requests_hourly" | "requests_daily" | "tokens_hourly" | "tokens_daily";
export type LimitKind = WindowName | "concurrency";

export const WINDOW_MS = { hour: 3_600_000, day: 86_400_000 } as const;

export interface WindowState {
  name: WindowName;
  limit: number;
  used: number;
  remaining: number;
  /** Milliseconds until `remaining` would grow by at least one (0 when not exhausted). */
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
