/**
 * MemoryLimiter: the Limiter for one gateway process. Every operation runs synchronously to
 * completion (no await between check and charge), which is what makes admit atomic here.
 */

import type { Limits } from "../store/store.ts";
import { type Admission, type LimitState, type Limiter, SLOT_TTL_MS, WINDOW_MS } from "./limiter.ts";
import { charge, firstFailure, noLimitsState, refusal, stateFrom } from "./outcome.ts";
import { type Buckets, bucketIndex, rollTo } from "./sliding.ts";
import { WINDOWS, noTokenLimits, unlimited } from "./windows.ts";

interface UserRecord {
  /** WINDOWS order. */
  buckets: Buckets[];
  /** Slot id -> expiry time, in the order taken. */
  slots: Map<string, number>;
  /** Every slot expires no earlier than the one taken before it (the clock did not go back). */
  slotsInOrder: boolean;
  lastExpiry: number;
  lastSeen: number;
}

/** Records idle this long have no weight left in any window and no live slot worth keeping. */
const IDLE_MS = 2 * WINDOW_MS.day;
const PRUNE_EVERY_MS = 60_000;

export interface MemoryLimiterOptions {
  slotTtlMs?: number;
}

export class MemoryLimiter implements Limiter {
  readonly driver = "memory";
  private readonly users = new Map<string, UserRecord>();
  private readonly slotTtlMs: number;
  private nextSlot = 0;
  private lastPrune = 0;

  constructor(options: MemoryLimiterOptions = {}) {
    this.slotTtlMs = options.slotTtlMs ?? SLOT_TTL_MS;
  }

  async admit(userId: string, limits: Limits, now = Date.now()): Promise<Admission> {
    if (unlimited(limits)) return { ok: true, slot: "", state: noLimitsState() };
    this.prune(now);
    const user = this.touch(userId, now);
    if (limits.concurrency !== null) dropExpired(user, now);
    const failed = firstFailure(limits, now, user.buckets, user.slots.size);
    if (failed !== null) return refusal(failed, stateFrom(limits, now, user.buckets, user.slots.size));
    charge(user.buckets, limits, 1, false);
    let slot = "";
    if (limits.concurrency !== null) {
      slot = String(++this.nextSlot);
      const expiry = now + this.slotTtlMs;
      if (user.slots.size === 0) user.slotsInOrder = true;
      else if (expiry < user.lastExpiry) user.slotsInOrder = false;
      user.lastExpiry = expiry;
      user.slots.set(slot, expiry);
    }
    return { ok: true, slot, state: stateFrom(limits, now, user.buckets, user.slots.size) };
  }

  async finish(userId: string, slot: string, tokens: number, limits: Limits, now = Date.now()): Promise<void> {
    if (slot !== "") this.users.get(userId)?.slots.delete(slot);
    if (tokens > 0 && !noTokenLimits(limits)) charge(this.touch(userId, now).buckets, limits, tokens, true);
  }

  async state(userId: string, limits: Limits, now = Date.now()): Promise<LimitState> {
    const user = this.users.get(userId);
    if (!user) return stateFrom(limits, now, WINDOWS.map((w) => emptyBuckets(now, w.ms)), 0);
    let live = 0;
    for (const expiry of user.slots.values()) if (expiry > now) live++;
    return stateFrom(limits, now, user.buckets, live);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.users.clear();
  }

  /** The user's record with every window rolled forward to `now`. */
  private touch(userId: string, now: number): UserRecord {
    let user = this.users.get(userId);
    if (!user) {
      user = { buckets: WINDOWS.map((w) => emptyBuckets(now, w.ms)), slots: new Map(), slotsInOrder: true, lastExpiry: 0, lastSeen: now };
      this.users.set(userId, user);
    }
    for (let i = 0; i < WINDOWS.length; i++) rollTo(user.buckets[i]!, bucketIndex(now, WINDOWS[i]!.ms));
    user.lastSeen = Math.max(user.lastSeen, now);
    return user;
  }

  /** Forgets idle users, at most once a minute of the callers' clock, so memory follows active users. */
  private prune(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    for (const [id, user] of this.users) {
      dropExpired(user, now);
      if (now - user.lastSeen > IDLE_MS && user.slots.size === 0) this.users.delete(id);
    }
  }
}

function emptyBuckets(now: number, ms: number): Buckets {
  return { index: bucketIndex(now, ms), prev: 0, cur: 0 };
}

/**
 * Releases the user's expired slots. Slots taken in expiry order (the usual case) stop the scan
 * at the first live one, so an admission does not walk every request in flight.
 */
function dropExpired(user: UserRecord, now: number): void {
  const { slots } = user;
  for (const slot of slots.keys()) {
    if (slots.get(slot)! > now) {
      if (user.slotsInOrder) return;
    } else slots.delete(slot);
  }
}
