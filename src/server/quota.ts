import type { LimitState } from "../limits/limiter.ts";
import { type Limits, limitsJson, type Principal } from "../store/store.ts";

/** The body of GET /parallama/v1/me: who the key belongs to, its limits and what is left. */
export function describeQuota(principal: Principal, limits: Limits, state: LimitState) {
  return {
    user: principal.user.name,
    role: principal.user.role,
    key: { id: principal.key.keyId, name: principal.key.name, expires_at: principal.key.expiresAt?.toISOString() ?? null },
    models: principal.models,
    limits: limitsJson(limits),
    windows: state.windows.map((w) => ({
      name: w.name,
      limit: w.limit,
      used: w.used,
      remaining: Math.max(0, w.remaining),
      reset_seconds: Math.ceil(w.resetMs / 1000),
    })),
    concurrency: state.concurrency && { limit: state.concurrency.limit, in_flight: state.concurrency.inFlight },
  };
}
