/**
 * Applies the Limiter to a principal: picks the user's limits (own row, else config defaults),
 * turns a refusal into a 429 naming the limit, renders RateLimit-* headers for the tightest
 * window, and applies redis.on_error when the limiter cannot be reached.
 */
import { type Admission, type LimitKind, type LimitState, type Limiter, LimiterUnavailable } from "../limits/limiter.ts";
import { tightestWindow } from "../limits/outcome.ts";
import { unlimited } from "../limits/windows.ts";
import type { Limits, Principal } from "../store/store.ts";
import { GatewayError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics, RejectionReason } from "./metrics.ts";

export interface Ticket {
  /** The concurrency slot to release, or null when none was taken. */
  slot: string | null;
  limits: Limits;
  headers: Record<string, string>;
}

const DESCRIBE: Record<LimitKind, (limit: number) => string> = {
  requests_hourly: (n) => `request limit exceeded: ${n} per hour`,
  requests_daily: (n) => `request limit exceeded: ${n} per day`,
  tokens_hourly: (n) => `token limit exceeded: ${n} per hour`,
  tokens_daily: (n) => `token limit exceeded: ${n} per day`,
  concurrency: (n) => `too many concurrent requests: ${n}`,
};

export class LimitGate {
  constructor(
    private readonly limiter: Limiter,
    private readonly defaults: Limits,
    private readonly onError: "allow" | "deny",
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  limitsOf(principal: Principal): Limits {
    return principal.limits ?? this.defaults;
  }

  /** Admits the request or throws a 429 (or 503 under on_error: deny). */
  async admit(principal: Principal): Promise<Ticket> {
    const limits = this.limitsOf(principal);
    if (unlimited(limits)) return { slot: null, limits, headers: {} };
    let admission: Admission;
    try {
      admission = await this.limiter.admit(principal.user.id, limits);
    } catch (err) {
      return this.unavailable(err, principal, limits);
    }
    const headers = rateLimitHeaders(admission.state);
    if (admission.ok) return { slot: admission.slot, limits, headers };
    this.metrics.rejections.inc({ reason: `limit_${admission.kind}` satisfies RejectionReason });
    throw new GatewayError("limit_exceeded", DESCRIBE[admission.kind](admission.limit), {
      ...headers,
      "retry-after": String(admission.retryAfter),
    });
  }

  /** Releases the slot and charges the real token count; never throws (the response is already sent). */
  finish(principal: Principal, ticket: Ticket, tokens: number): void {
    if (ticket.slot == null && (tokens === 0 || unlimited(ticket.limits))) return;
    this.limiter.finish(principal.user.id, ticket.slot ?? "", tokens, ticket.limits).catch((err) => {
      this.logger.warn({ err: String(err), user: principal.user.name, tokens }, "limiter: could not settle tokens or release a slot");
    });
  }

  async state(principal: Principal): Promise<LimitState> {
    return this.limiter.state(principal.user.id, this.limitsOf(principal));
  }

  private unavailable(err: unknown, principal: Principal, limits: Limits): Ticket {
    if (!(err instanceof LimiterUnavailable)) throw err;
    this.metrics.limiterErrors.inc({ decision: this.onError });
    this.logger.warn({ user: principal.user.name, decision: this.onError, err: err.message }, "limiter unreachable: request decided by redis.on_error");
    if (this.onError === "allow") return { slot: null, limits, headers: {} };
    this.metrics.rejections.inc({ reason: "limiter_unavailable" });
    throw new GatewayError("limiter_unavailable", "rate limiter unavailable; try again shortly", { "retry-after": "1" });
  }
}


/** RateLimit-* headers for the tightest window; none when the user has no window limit. */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const tightest = tightestWindow(state);
  if (!tightest) return {};
  return {
    "ratelimit-limit": String(tightest.limit),
    "ratelimit-remaining": String(Math.max(0, tightest.remaining)),
    "ratelimit-reset": String(Math.ceil(tightest.resetMs / 1000)),
  };
}
