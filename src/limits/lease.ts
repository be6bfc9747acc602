/**
 * A gateway's lease on one user's quota in Redis: admissions charged ahead (`unused` of them not
 * yet handed out) and a pool of concurrency slots held in the user's slots set, so that most
 * requests are decided here without a round trip and still never pass a limit.
 *
 * - Requests: TURN charged the lease to every request window when it granted it, so a local
 *   admission spends a charge Redis already counted; other gateways see it as used. What is not
 *   spent goes back on the next turn (subtracted from the bucket it was charged to).
 * - Concurrency: the pool's slots are members of the slots set like any request's, so other
 *   gateways count them in flight; a local admission takes one of the pool's free places.
 * - Tokens settled here are added to the local view at once and sent on the next turn.
 * - `view` is Redis's state as of the grant with this gateway's own changes since applied; a
 *   local decision is `firstFailure` on it, the same check Redis runs. What other gateways did
 *   since is seen at the next turn, at most LEASE_MS later.
 */

import type { Limits } from "../store/store.ts";
import type { Admission } from "./limiter.ts";
import { charge, firstFailure, stateFrom } from "./outcome.ts";
import { type Buckets, bucketIndex } from "./sliding.ts";
import { WINDOWS } from "./windows.ts";

/** How long a lease decides locally: the staleness other gateways' settlements can have here. */
export const LEASE_MS = 100;
/**
 * What a lease owes Redis (tokens, releases of slots taken through Redis) reaches it within this:
 * the period of RedisLimiter's one timer, which also returns idle leases.
 */
export const OWED_MS = 50;
/** The most admissions one lease charges ahead. */
export const LEASE_MAX = 1024;
/** A lease takes at most this fraction (1/SHARE) of what a window or the concurrency has left. */
export const LEASE_SHARE = 8;
/** Fewer admissions ahead than this are not worth a lease. */
export const LEASE_MIN = 4;
/** The most slots a pool holds. */
export const POOL_MAX = 256;

/** What a turn hands back to Redis for a lease, and what it asks for. */
export interface LeaseReturn {
  /** The caller's time of the grant (the bucket the unused charges sit in), or 0 when none. */
  at: number;
  unused: number;
  tokens: number;
  /** Slots taken through Redis that their requests have finished with. */
  releases: string[];
  /** Pool size held now, and the size wanted after this turn (never below the slots in use). */
  pool: number;
  poolTarget: number;
  /** Re-score the pool's members with a fresh expiry. */
  refresh: boolean;
}

export class Lease {
  /** Caller's time the view was read at; a lease is usable from then for LEASE_MS. */
  at = Number.NEGATIVE_INFINITY;
  unused = 0;
  view: Buckets[] = [];
  inFlight = 0;
  pool = 0;
  readonly inUse = new Set<string>();
  /** Slots this gateway took through Redis (not from the pool) while the lease existed. */
  private readonly individual = new Set<string>();
  pendingTokens = 0;
  private owedReleases: string[] = [];
  /** A turn carrying this lease's return is in flight; no other turn may also carry it. */
  busy = false;
  /** A turn carrying only what it owes is in flight; no other turn may carry it either. */
  sendingOwed = false;
  /** performance.now() of the last turn that carried this lease. */
  lastTurn = 0;
  refreshedAt = Number.NEGATIVE_INFINITY;
  /** Redis time minus local time at the grant, for callers that give no clock. */
  clockOffset = 0;
  private nextSlot = 0;
  /** Resolves when the turn carrying the lease answers; requests arriving meanwhile wait for it. */
  private answered: Promise<void> | null = null;
  private answer: (() => void) | null = null;

  constructor(
    /** The user and the limits (RedisLimiter's map key). */
    readonly key: string,
    readonly limits: Limits,
    /** Prefix of the pool's members in the slots set, unique to this gateway and lease. */
    readonly poolPrefix: string,
    /** The clock argument of the turns that carry it: "" (Redis TIME) or the caller's time. */
    readonly nowArg: string,
  ) {}

  /** The caller's time for a call without a clock, on Redis's clock. */
  clock(): number {
    return Date.now() + this.clockOffset;
  }

  /** The time a turn's clock argument stands for: the caller's, or ours on Redis's clock when "". */
  timeAt(nowArg: string): number {
    return nowArg === "" ? this.clock() : Number(nowArg);
  }

  /** Redis may have lost the pool's members (a restart without its data): the next turn re-adds them. */
  refreshNext(): void {
    this.refreshedAt = Number.NEGATIVE_INFINITY;
  }

  /** The pool's expiry is due a refresh: a quarter of the slot TTL after the last one. */
  private refreshDue(now: number, slotTtlMs: number): boolean {
    return this.pool > 0 && now - this.refreshedAt > slotTtlMs / 4;
  }

  /** Admits locally when the lease covers it; null when Redis must decide. */
  admit(now: number): Admission | null {
    if (this.busy || now < this.at || now - this.at >= LEASE_MS) return null;
    const limits = this.limits;
    const requests = limitsRequests(limits);
    if (requests && this.unused < 1) return null;
    if (limits.concurrency !== null && this.inUse.size >= this.pool) return null;
    for (let i = 0; i < WINDOWS.length; i++) {
      if (WINDOWS[i]!.limit(limits) !== null && bucketIndex(now, WINDOWS[i]!.ms) !== this.view[i]!.index) return null;
    }
    if (firstFailure(limits, now, this.view, this.inFlight) !== null) return null;
    let slot = "";
    if (requests) {
      this.unused--;
      charge(this.view, limits, 1, false);
    }
    if (limits.concurrency !== null) {
      slot = `${this.poolPrefix}u${++this.nextSlot}`;
      this.inUse.add(slot);
      this.inFlight++;
    }
    return { ok: true, slot, state: stateFrom(limits, now, this.view, this.inFlight) };
  }

  /**
   * Takes a settlement of a request this lease knows: a pool slot of its own, a slot taken
   * through Redis since the lease began, or none. The view counts it at once; what Redis must
   * learn (tokens, a release) is owed, sent with the next turn that carries the lease, so that no
   * view is read while part of it is on its way. False when the lease has no part in it.
   */
  settle(slot: string, tokens: number): boolean {
    if (this.view.length === 0) return false; // never granted: nothing of this request's is here
    if (slot !== "") {
      if (this.individual.delete(slot)) this.owedReleases.push(slot);
      else if (!this.inUse.delete(slot)) return false;
      this.inFlight--;
    }
    if (tokens > 0) {
      this.pendingTokens += tokens;
      charge(this.view, this.limits, tokens, true);
    }
    return true;
  }

  owes(): boolean {
    return this.pendingTokens > 0 || this.owedReleases.length > 0;
  }

  /**
   * What is owed, for a turn that carries only that (the view keeps counting it). Until
   * `owedSent`, no other turn carries the lease; local admissions go on, as the view stays.
   */
  takeOwed(): LeaseReturn {
    const out = { ...NOTHING_BACK, tokens: this.pendingTokens, releases: this.owedReleases };
    this.pendingTokens = 0;
    this.owedReleases = [];
    this.sendingOwed = true;
    return out;
  }

  owedSent(): void {
    this.sendingOwed = false;
    this.done();
  }

  /** A slot admitted through Redis while this lease exists: Redis counts it, and so does the next view. */
  admittedThroughRedis(slot: string): void {
    if (slot !== "") this.individual.add(slot);
  }

  /** Hands the lease's charges and tokens to a turn admitting `admitting` requests; the lease decides nothing until `granted`. */
  take(admitting: number, now: number, slotTtlMs: number): LeaseReturn {
    const out: LeaseReturn = {
      at: Number.isFinite(this.at) ? this.at : 0,
      unused: this.unused,
      tokens: this.pendingTokens,
      releases: this.owedReleases,
      pool: this.pool,
      // Room for twice what is in flight here now, the batch included: a pool sized by demand.
      poolTarget: admitting > 0 ? Math.min(POOL_MAX, Math.max(this.pool, 2 * (this.inUse.size + admitting))) : this.inUse.size,
      refresh: this.refreshDue(now, slotTtlMs),
    };
    this.busy = true;
    this.lastTurn = performance.now();
    this.unused = 0;
    this.pendingTokens = 0;
    this.owedReleases = [];
    this.at = Number.NEGATIVE_INFINITY;
    if (out.refresh) this.refreshedAt = now;
    return out;
  }

  /** The turn answered: a fresh view (Redis's state after the batch) and what it granted. */
  granted(at: number, view: Buckets[], inFlight: number, unused: number, pool: number, allNew: boolean): void {
    this.done();
    this.at = at;
    this.view = view;
    // Tokens settled here while the turn was in flight go with the next one; the view counts them now.
    if (this.pendingTokens > 0) charge(this.view, this.limits, this.pendingTokens, true);
    this.unused = unused;
    // The oldest member's expiry is what a refresh renews; members just added are not the oldest.
    if (allNew) this.refreshedAt = at;
    this.pool = pool;
    // Redis counts every pool member in flight, and slots released here but not yet there.
    this.inFlight = inFlight - (pool - this.inUse.size) - this.owedReleases.length;
    if (this.nowArg === "") this.clockOffset = at - Date.now();
  }

  /** The turn answered without a batch to admit (or failed): only the pool changed. */
  returned(pool: number): void {
    this.done();
    this.pool = pool;
  }

  /** While a turn carries the lease (or its tokens): its answer, after which `admit` can decide again. */
  whenAnswered(): Promise<void> | null {
    if (!this.busy && !this.sendingOwed) return null;
    this.answered ??= new Promise((resolve) => (this.answer = resolve));
    return this.answered;
  }

  private done(): void {
    this.busy = false;
    this.answer?.();
    this.answer = this.answered = null;
  }

  /** Nothing charged ahead, held or owed: the lease can be forgotten. */
  empty(): boolean {
    return this.unused === 0 && !this.owes() && this.pool === 0 && this.inUse.size === 0 && this.individual.size === 0;
  }

  /** Holds what an idle lease should give back, or owes Redis something. */
  holdsBack(now: number, slotTtlMs: number): boolean {
    return this.unused > 0 || this.owes() || this.pool > this.inUse.size || this.refreshDue(now, slotTtlMs);
  }
}

/** A turn that carries no lease. */
export const NOTHING_BACK: LeaseReturn = { at: 0, unused: 0, tokens: 0, releases: [], pool: 0, poolTarget: 0, refresh: false };

export function limitsRequests(limits: Limits): boolean {
  return limits.requestsHourly !== null || limits.requestsDaily !== null;
}
