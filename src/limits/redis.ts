/**
 * RedisLimiter: the Limiter shared by every gateway pointed at one Redis. Each operation is one
 * Lua script (EVALSHA, with ioredis falling back to EVAL once after a Redis restart), so admit is
 * one round trip and no read-then-write race exists between gateways. A user's settlements and
 * admissions go as one script call per round trip (turn-batch.ts, TURN): a busy gateway sends
 * Redis a fraction of the commands, each request still decided exactly as if alone.
 */

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Limits } from "../store/store.ts";
import { type Admission, type LimitState, type Limiter, LimiterUnavailable, SLOT_TTL_MS } from "./limiter.ts";
import { noLimitsState, refusal, stateFrom } from "./outcome.ts";
import { LEASE_MAX, LEASE_MS, Lease, type LeaseReturn, NOTHING_BACK, OWED_MS, limitsRequests } from "./lease.ts";
import { ADMIT_HEAD_SIZE, STATE, TURN } from "./redis-scripts.ts";
import type { Buckets } from "./sliding.ts";
import { TurnBatcher } from "./turn-batch.ts";
import { WINDOWS, noTokenLimits, unlimited } from "./windows.ts";

export interface RedisLimiterOptions {
  url: string;
  /** Prepended to every key, inside the user's hash tag. */
  prefix: string;
  slotTtlMs?: number;
  /** A command not answered within this many ms fails with LimiterUnavailable. */
  timeoutMs?: number;
}

type Arg = string | number;
/** What a user's turn takes: an admission (its slot id) or a settlement. */
type TurnInput = string | Settlement;
interface Settlement {
  slot: string;
  tokens: number;
}
/** One request's answer from a turn: the state right after its own admission. */
interface Admitted {
  failed: number;
  /** The turn carried the user's lease, so the lease's next view counts this admission's slot. */
  leased: boolean;
  at: number;
  inFlight: number;
  buckets: Buckets[];
}

interface Scripts {
  limiterTurn(...args: Arg[]): Promise<number[] | 0>;
  limiterState(...args: Arg[]): Promise<number[]>;
}

const KEY_COUNT = WINDOWS.length + 1;
const KEY_SUFFIXES = [...WINDOWS.map((w) => w.name), "slots"];

export class RedisLimiter implements Limiter {
  readonly driver = "redis";
  private readonly client: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  private readonly slotTtlMs: number;
  /** Slot ids are unique across gateways: this process's id, then a counter. */
  private readonly instance = randomUUID();
  private nextSlot = 0;
  private lastError: Error | null = null;
  private readonly turns: TurnBatcher<TurnInput, Admitted | null>;
  /** By lease key: the user and the limits. */
  private readonly leases = new Map<string, Lease>();
  private nextLease = 0;
  private readonly leaseTimer: ReturnType<typeof setInterval>;

  constructor(options: RedisLimiterOptions) {
    const timeoutMs = options.timeoutMs ?? 500;
    this.prefix = options.prefix;
    this.slotTtlMs = options.slotTtlMs ?? SLOT_TTL_MS;
    // Commands wait in the offline queue (so the first requests after start-up work) but never
    // longer than the timeout; ioredis keeps reconnecting, so limiting resumes when Redis returns.
    this.client = new Redis(options.url, {
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      // No auto-pipelining: the turn batchers already send a user's requests as one call, and
      // ioredis's own batching cost each call ~30 us of wait and allocation (admit + finish, one
      // at a time: 229-309 against 267-349 us; 64 users in flight: 131-140 against 149-161 us).
      enableAutoPipelining: false,
    });
    // Without a listener ioredis prints every reconnect failure; the caller reports unavailability.
    this.client.on("error", (err: Error) => (this.lastError = err));
    this.client.on("ready", () => {
      this.lastError = null;
      for (const lease of this.leases.values()) lease.refreshNext();
    });
    this.client.defineCommand("limiterTurn", { lua: TURN, numberOfKeys: KEY_COUNT });
    this.client.defineCommand("limiterState", { lua: STATE, numberOfKeys: KEY_COUNT });
    this.scripts = this.client as unknown as Scripts;
    this.turns = new TurnBatcher((key, inputs) => this.turn(key, inputs));
    this.leaseTimer = setInterval(() => this.tendLeases(), OWED_MS);
    this.leaseTimer.unref();
  }

  async admit(userId: string, limits: Limits, now?: number): Promise<Admission> {
    if (unlimited(limits)) return { ok: true, slot: "", state: noLimitsState() };
    const key = leaseKey(userId, limits);
    const lease = this.leases.get(key);
    if (!lease) this.leases.set(key, new Lease(key, limits, `${this.instance}:${++this.nextLease}:`, `${now ?? ""}`));
    else if ((now === undefined) === (lease.nowArg === "")) {
      let local = lease.admit(now ?? lease.clock());
      // A lease being renewed is worth the wait: the answer comes in the time this request's own call would take.
      const renewal = local ? null : lease.whenAnswered();
      if (renewal) {
        await renewal;
        local = lease.admit(now ?? lease.clock());
      }
      if (local) return local;
    }
    const slot = limits.concurrency === null ? "" : `${this.instance}:${++this.nextSlot}`;
    const { failed, leased, at, inFlight, buckets } = (await this.call(() => this.turns.add(batchKey(userId, now, limits), slot)))!;
    const state = stateFrom(limits, at, buckets, inFlight);
    if (failed !== 0) return refusal(failed - 1, state);
    if (leased) this.leases.get(key)?.admittedThroughRedis(slot);
    return { ok: true, slot, state };
  }

  async finish(userId: string, slot: string, tokens: number, limits: Limits, now?: number): Promise<void> {
    const charge = tokens > 0 && !noTokenLimits(limits);
    if (slot === "" && !charge) return;
    const lease = this.leases.get(leaseKey(userId, limits));
    if (lease?.settle(slot, charge ? tokens : 0)) return;
    await this.call(() => this.turns.add(batchKey(userId, now, limits), { slot, tokens: charge ? tokens : 0 }));
  }

  /**
   * One TURN call for a batch: its settlements and what it carries of the user's lease, then its
   * admissions and a new lease. The key carries the clock argument, the user and the limits;
   * settlements answer null.
   */
  private async turn(key: string, inputs: TurnInput[]): Promise<(Admitted | null)[]> {
    const [now, userId, ...limits] = key.split(" ") as [string, string, ...string[]];
    const settled: Arg[] = [];
    const slots: string[] = [];
    for (const input of inputs) {
      if (typeof input === "string") slots.push(input);
      else if (input.slot !== "" || input.tokens > 0) settled.push(input.slot, input.tokens);
    }
    // Admissions and a lease's return wait for a turn that carries the lease elsewhere, so that
    // theirs can carry it: what that turn took (unused charges, owed tokens) is in Redis by then.
    // (No await between the last look and carry(): another turn could take the lease in between.)
    const userLease = key.slice(now.length + 1);
    const whole = slots.length > 0 || inputs.includes(RETURN_LEASE);
    if (whole) for (let answered = this.carrying(userLease); answered; answered = this.carrying(userLease)) await answered;
    const { lease, back, owedOnly } = this.carry(userLease, now, whole, inputs, slots.length);
    if (back.tokens > 0) settled.push("", back.tokens);
    for (const slot of back.releases) settled.push(slot, 0);
    const want = lease && slots.length > 0 ? LEASE_MAX : 0;
    const held = Math.min(back.pool, back.poolTarget);
    const carried = owedOnly ? null : lease;
    try {
      const r = await this.scripts.limiterTurn(...this.keys(userId), now, this.slotTtlMs, ...limits, back.at, back.unused,
        lease?.poolPrefix ?? "", back.pool, back.poolTarget, back.refresh ? 1 : 0, want, settled.length / 2, ...settled, ...slots);
      if (r !== 0) return this.answers(r, inputs, limits, carried, held);
      this.settleLease(carried, held);
      return inputs.map(() => null);
    } catch (err) {
      // Whether the script ran is unknown: assume the pool shrank as asked (never count on slots that may be gone).
      this.settleLease(carried, held);
      throw err;
    } finally {
      if (owedOnly) lease!.owedSent();
    }
  }

  /** The answer of the turn carrying the lease now, if one does. */
  private carrying(key: string): Promise<void> | null {
    return this.leases.get(key)?.whenAnswered() ?? null;
  }

  /**
   * What a turn carries of the user's lease: all of it when the turn admits or is the lease's
   * return, only what it owes when sent for that; nothing for settlements alone (that would end
   * a lease still in use) or while another turn (another clock argument) carries it.
   */
  private carry(key: string, now: string, whole: boolean, inputs: TurnInput[], admitting: number): { lease: Lease | null; back: LeaseReturn; owedOnly: boolean } {
    const lease = whole || inputs.includes(SEND_OWED) ? this.leases.get(key) : undefined;
    if (!lease || lease.busy || lease.sendingOwed) return { lease: null, back: NOTHING_BACK, owedOnly: false };
    if (!whole) return { lease, back: lease.takeOwed(), owedOnly: true };
    return { lease, back: lease.take(admitting, lease.timeAt(now), this.slotTtlMs), owedOnly: false };
  }

  /** Each admission's answer from TURN's reply, and the new lease to the one the turn carried. */
  private answers(r: number[], inputs: TurnInput[], limits: string[], lease: Lease | null, held: number): (Admitted | null)[] {
    const at = r[0]!;
    const before = bucketsFrom(r, 1);
    // Each admission adds one to the current bucket of every limited request window (TURN's reply).
    const counted = WINDOWS.map((w, i) => !w.tokens && Number(limits[i]) >= 0);
    // Redis counts the pool's free slots in flight; to this gateway's requests they are free.
    const free = lease ? held - lease.inUse.size : 0;
    let n = 0;
    let admitted = 0;
    let inFlightAfter = 0;
    const outs = inputs.map((input) => {
      if (typeof input !== "string") return null;
      const failed = r[ADMIT_HEAD_SIZE + 2 * n]!;
      inFlightAfter = r[ADMIT_HEAD_SIZE + 2 * n + 1]!;
      n++;
      if (failed === 0) admitted++;
      const buckets = admitted === 0 ? before : before.map((b, i) => (counted[i] ? { ...b, cur: b.cur + admitted } : b));
      return { failed, leased: lease !== null, at, inFlight: inFlightAfter - free, buckets };
    });
    if (lease) {
      const ahead = r[ADMIT_HEAD_SIZE - 2]!;
      const pool = r[ADMIT_HEAD_SIZE - 1]!;
      const view = before.map((b, i) => ({ ...b, cur: counted[i] ? b.cur + admitted : b.cur }));
      lease.granted(at, view, inFlightAfter + pool - held, limitsRequests(lease.limits) ? ahead : 0, pool, held === 0 && pool > 0);
      if (lease.empty() && ahead === 0) this.leases.delete(lease.key);
    }
    return outs;
  }

  private settleLease(lease: Lease | null, pool: number): void {
    if (!lease) return;
    lease.returned(pool);
    if (lease.empty()) this.leases.delete(lease.key);
  }

  /**
   * Every OWED_MS: sends what each lease owes (the settlements of every request finished since,
   * together), and gives back what idle leases hold (unused charges, free slots). What cannot be
   * sent is lost, as a finish's own settlement would be (slots then expire).
   */
  private tendLeases(): void {
    const quiet = performance.now() - LEASE_MS;
    for (const lease of this.leases.values()) {
      if (lease.busy || lease.sendingOwed) continue;
      if (lease.lastTurn <= quiet && lease.holdsBack(lease.timeAt(lease.nowArg), this.slotTtlMs)) void this.returnLease(lease, lease.nowArg).catch(() => {});
      else if (lease.owes()) void this.call(() => this.turns.add(`${lease.nowArg} ${lease.key}`, SEND_OWED)).catch(() => {});
      else if (lease.lastTurn <= quiet && lease.empty()) this.leases.delete(lease.key);
    }
  }

  /** One turn with nothing to admit, carrying the lease's return (tokens owed are lost if it fails). */
  private returnLease(lease: Lease, now: string): Promise<unknown> {
    return this.call(() => this.turns.add(`${now} ${lease.key}`, RETURN_LEASE));
  }

  async state(userId: string, limits: Limits, now?: number): Promise<LimitState> {
    if (unlimited(limits)) return noLimitsState();
    // What this gateway holds ahead is not used yet: give it back first, so the state is exact.
    const lease = this.leases.get(leaseKey(userId, limits));
    if (lease && !lease.empty()) await this.returnLease(lease, `${now ?? ""}`);
    const r = await this.call(() => this.scripts.limiterState(...this.keys(userId), now ?? "", ...limitArgs(limits)));
    const [at, inFlight] = r as [number, number];
    return stateFrom(limits, at, bucketsFrom(r, 2), inFlight);
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.ping());
  }

  async close(): Promise<void> {
    clearInterval(this.leaseTimer);
    await Promise.allSettled([...this.leases.values()].filter((l) => !l.empty()).map((l) => this.returnLease(l, l.nowArg)));
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** One user's keys share the hash tag {prefix + user:id}, so every script runs on one Cluster slot. */
  private keys(userId: string): string[] {
    const tag = `{${this.prefix}user:${userId}}:`;
    return KEY_SUFFIXES.map((s) => tag + s);
  }

  /** Fails at once while the connection is known to be down, so an outage adds no latency per request. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.lastError && this.client.status !== "ready") throw unavailable(this.lastError, this.lastError);
    try {
      return await op();
    } catch (err) {
      // A timed-out command says less than the connection error behind it.
      throw unavailable(this.lastError ?? err, err);
    }
  }
}

function unavailable(reason: unknown, cause: unknown): LimiterUnavailable {
  return new LimiterUnavailable(`redis limiter unavailable: ${(reason as Error).message}`, { cause });
}

/** Calls batch together when they agree on the clock argument, the user and the limits; none contains a space. */
function batchKey(userId: string, now: number | undefined, limits: Limits): string {
  return `${now ?? ""} ${leaseKey(userId, limits)}`;
}

/** A lease is one user's under one set of limits. */
function leaseKey(userId: string, limits: Limits): string {
  return `${userId} ${joinedLimitArgs(limits)}`;
}

/** Turn inputs that settle nothing themselves: a lease's return, and a send of what it owes. */
const RETURN_LEASE: Settlement = { slot: "", tokens: 0 };
const SEND_OWED: Settlement = { slot: "", tokens: 0 };

/** Cached principals hand the same Limits object to every request, so each is joined once. */
const limitArgCache = new WeakMap<Limits, string>();

function joinedLimitArgs(limits: Limits): string {
  let args = limitArgCache.get(limits);
  if (args === undefined) {
    args = limitArgs(limits).join(" ");
    limitArgCache.set(limits, args);
  }
  return args;
}

/** The four window limits then concurrency, -1 for none, as the scripts take them. */
function limitArgs(limits: Limits): number[] {
  return [...WINDOWS.map((w) => w.limit(limits) ?? -1), limits.concurrency ?? -1];
}

/** The (i, p, c) triples of a script reply from `offset`, in WINDOWS order. */
function bucketsFrom(reply: number[], offset: number): Buckets[] {
  return WINDOWS.map((_, w) => {
    const at = offset + 3 * w;
    return { index: reply[at]!, prev: reply[at + 1]!, cur: reply[at + 2]! };
  });
}
