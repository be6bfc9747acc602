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
    this.client.defineCommand("limiterTurn", { lua: TURN, numberOfKeys: KEY_COUNT });
    this.client.defineCommand("limiterState", { lua: STATE, numberOfKeys: KEY_COUNT });
    this.scripts = this.client as unknown as Scripts;
    this.turns = new TurnBatcher((key, inputs) => this.turn(key, inputs));
  }

  async admit(userId: string, limits: Limits, now?: number): Promise<Admission> {
    if (unlimited(limits)) return { ok: true, slot: "", state: noLimitsState() };
    const slot = limits.concurrency === null ? "" : `${this.instance}:${++this.nextSlot}`;
    const { failed, at, inFlight, buckets } = (await this.call(() => this.turns.add(batchKey(userId, now, limits), slot)))!;
    const state = stateFrom(limits, at, buckets, inFlight);
    return failed === 0 ? { ok: true, slot, state } : refusal(failed - 1, state);
  }

  async finish(userId: string, slot: string, tokens: number, limits: Limits, now?: number): Promise<void> {
    const charge = tokens > 0 && !noTokenLimits(limits);
    if (slot === "" && !charge) return;
    await this.call(() => this.turns.add(batchKey(userId, now, limits), { slot, tokens: charge ? tokens : 0 }));
  }

  /**
   * One TURN call for a batch: its settlements, then its admissions. The key carries the user,
   * the clock argument and the limits; settlements answer null.
   */
  private async turn(key: string, inputs: TurnInput[]): Promise<(Admitted | null)[]> {
    const [userId, now, ...limits] = key.split(" ");
    const settled: Arg[] = [];
    const slots: string[] = [];
    for (const input of inputs) {
      if (typeof input === "string") slots.push(input);
      else settled.push(input.slot, input.tokens);
    }
    const r = await this.scripts.limiterTurn(...this.keys(userId!), now!, this.slotTtlMs, ...limits, settled.length / 2, ...settled, ...slots);
    if (r === 0) return inputs.map(() => null);
    const at = r[0]!;
    const before = bucketsFrom(r, 1);
    // Each admission adds one to the current bucket of every limited request window (TURN's reply).
    const counted = WINDOWS.map((w, i) => !w.tokens && Number(limits[i]) >= 0);
    let n = 0;
    let admitted = 0;
    return inputs.map((input) => {
      if (typeof input !== "string") return null;
      const failed = r[ADMIT_HEAD_SIZE + 2 * n]!;
      const inFlight = r[ADMIT_HEAD_SIZE + 2 * n + 1]!;
      n++;
      if (failed === 0) admitted++;
      const buckets = admitted === 0 ? before : before.map((b, i) => (counted[i] ? { ...b, cur: b.cur + admitted } : b));
      return { failed, at, inFlight, buckets };
    });
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

/** Calls batch together when they agree on the user, the clock argument and the limits; none contains a space. */
function batchKey(userId: string, now: number | undefined, limits: Limits): string {
  return `${userId} ${now ?? ""} ${joinedLimitArgs(limits)}`;
}

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
