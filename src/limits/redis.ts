/**
 * RedisLimiter: the Limiter shared by every gateway pointed at one Redis. Each operation is one
 * Lua script (EVALSHA, with ioredis falling back to EVAL once after a Redis restart), so admit is
 * one round trip and no read-then-write race exists between gateways. A user's admissions (and
 * settlements) go as one script call per round trip that takes them in order (turn-batch.ts): a
 * busy gateway sends Redis a fraction of the commands, each request still decided exactly as if
 * alone.
 */

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Limits } from "../store/store.ts";
import { type Admission, type LimitState, type Limiter, LimiterUnavailable, SLOT_TTL_MS } from "./limiter.ts";
import { noLimitsState, refusal, stateFrom } from "./outcome.ts";
import { ADMIT, ADMIT_HEAD_SIZE, FINISH, STATE } from "./redis-scripts.ts";
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
/** One request's answer from an ADMIT batch: the state right after its own admission. */
interface Admitted {
  failed: number;
  at: number;
  inFlight: number;
  buckets: Buckets[];
}

interface Scripts {
  limiterAdmit(...args: Arg[]): Promise<number[]>;
  limiterFinish(...args: Arg[]): Promise<number>;
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
  private readonly admissions: TurnBatcher<string, Admitted>;
  private readonly settlements: TurnBatcher<[slot: string, tokens: number], void>;

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
    this.client.on("ready", () => (this.lastError = null));
    this.client.defineCommand("limiterAdmit", { lua: ADMIT, numberOfKeys: KEY_COUNT });
    this.client.defineCommand("limiterFinish", { lua: FINISH, numberOfKeys: KEY_COUNT });
    this.client.defineCommand("limiterState", { lua: STATE, numberOfKeys: KEY_COUNT });
    this.scripts = this.client as unknown as Scripts;
    this.admissions = new TurnBatcher((key, slots) => this.admitBatch(key, slots));
    this.settlements = new TurnBatcher((key, entries) => this.finishBatch(key, entries));
  }

  async admit(userId: string, limits: Limits, now?: number): Promise<Admission> {
    if (unlimited(limits)) return { ok: true, slot: "", state: noLimitsState() };
    const slot = limits.concurrency === null ? "" : `${this.instance}:${++this.nextSlot}`;
    const { failed, at, inFlight, buckets } = await this.call(() => this.admissions.add(batchKey(userId, now, argsOf(limits).admit), slot));
    const state = stateFrom(limits, at, buckets, inFlight);
    return failed === 0 ? { ok: true, slot, state } : refusal(failed - 1, state);
  }

  async finish(userId: string, slot: string, tokens: number, limits: Limits, now?: number): Promise<void> {
    const charge = tokens > 0 && !noTokenLimits(limits);
    if (slot === "" && !charge) return;
    await this.call(() => this.settlements.add(batchKey(userId, now, argsOf(limits).finish), [slot, charge ? tokens : 0]));
  }

  /** One ADMIT call for a batch; the key carries the user, the clock argument and the limits. */
  private async admitBatch(key: string, slots: string[]): Promise<Admitted[]> {
    const [userId, now, ...limits] = key.split(" ");
    const r = await this.scripts.limiterAdmit(...this.keys(userId!), now!, this.slotTtlMs, ...limits, ...slots);
    const at = r[0]!;
    const before = bucketsFrom(r, 1);
    // Each admission adds one to the current bucket of every limited request window (ADMIT's reply).
    const counted = WINDOWS.map((w, i) => !w.tokens && Number(limits[i]) >= 0);
    let admitted = 0;
    return slots.map((_, n) => {
      const failed = r[ADMIT_HEAD_SIZE + 2 * n]!;
      if (failed === 0) admitted++;
      const buckets = admitted === 0 ? before : before.map((b, i) => (counted[i] ? { ...b, cur: b.cur + admitted } : b));
      return { failed, at, inFlight: r[ADMIT_HEAD_SIZE + 2 * n + 1]!, buckets };
    });
  }

  private async finishBatch(key: string, entries: [string, number][]): Promise<void[]> {
    const [userId, now, flags] = key.split(" ");
    await this.scripts.limiterFinish(...this.keys(userId!), now!, flags!, ...entries.flat());
    return entries.map(() => undefined);
  }

  async state(userId: string, limits: Limits, now?: number): Promise<LimitState> {
    if (unlimited(limits)) return noLimitsState();
    const r = await this.call(() => this.scripts.limiterState(...this.keys(userId), now ?? "", ...limitArgs(limits)));
    const [at, inFlight] = r as [number, number];
    return stateFrom(limits, at, bucketsFrom(r, 2), inFlight);
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.ping());
  }

  async close(): Promise<void> {
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

/** Calls batch together when they agree on all of these; none contains a space. */
function batchKey(userId: string, now: number | undefined, args: string): string {
  return `${userId} ${now ?? ""} ${args}`;
}

/**
 * The scripts' limit arguments, joined: ADMIT's limits and FINISH's token-window flags.
 * Cached principals hand the same Limits object to every request, so each is built once.
 */
const limitArgCache = new WeakMap<Limits, { admit: string; finish: string }>();

function argsOf(limits: Limits): { admit: string; finish: string } {
  let args = limitArgCache.get(limits);
  if (!args) {
    const flags = WINDOWS.filter((w) => w.tokens).map((w) => (w.limit(limits) === null ? "0" : "1"));
    args = { admit: limitArgs(limits).join(" "), finish: flags.join("") };
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
