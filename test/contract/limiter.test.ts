import { type AddressInfo, type Socket, connect, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { LEASE_MS, OWED_MS } from "../../src/limits/lease.ts";
import { LimiterUnavailable, SLOT_TTL_MS, WINDOW_MS } from "../../src/limits/limiter.ts";
import { MemoryLimiter } from "../../src/limits/memory.ts";
import { RedisLimiter } from "../../src/limits/redis.ts";
import { NO_LIMITS } from "../../src/store/store.ts";
import { REDIS_URL, redisPrefix } from "../support/services.ts";
import { limiterContract } from "./limiter.contract.ts";

limiterContract("memory", async () => {
  const limiter = new MemoryLimiter();
  return { limiter, cleanup: () => limiter.close() };
});

limiterContract("redis", async () => {
  const prefix = redisPrefix();
  const limiter = new RedisLimiter({ url: REDIS_URL, prefix });
  return {
    limiter,
    cleanup: async () => {
      await limiter.close();
      await dropKeys(prefix);
    },
  };
});

/** Deletes every key a limiter with this prefix wrote (they all start with the hash tag). */
async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

describe("RedisLimiter shared by several gateways", () => {
  const limits = { ...NO_LIMITS, requestsHourly: 50, concurrency: 1000 };

  it("admits exactly the limit across two connections", async () => {
    const prefix = redisPrefix();
    const a = new RedisLimiter({ url: REDIS_URL, prefix });
    const b = new RedisLimiter({ url: REDIS_URL, prefix });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit("u1", limits)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      expect((await a.state("u1", limits)).concurrency).toEqual({ limit: 1000, inFlight: 50 });
      // A slot taken through one gateway is released through the other.
      const one = results.find((r) => r.ok)!;
      if (!one.ok) throw new Error("unreachable");
      await b.finish("u1", one.slot, 0, limits);
      expect((await a.state("u1", limits)).concurrency).toEqual({ limit: 1000, inFlight: 49 });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropKeys(prefix);
    }
  });

  it("keeps one user's keys in one hash tag, each with an expiry", async () => {
    const prefix = redisPrefix();
    const limiter = new RedisLimiter({ url: REDIS_URL, prefix });
    const redis = new Redis(REDIS_URL);
    try {
      const all = { requestsHourly: 5, requestsDaily: 5, tokensHourly: 5, tokensDaily: 5, concurrency: 5 };
      const a = await limiter.admit("u1", all);
      if (!a.ok) throw new Error("refused");
      await limiter.finish("u1", "", 3, all);
      const keys = (await redis.keys(`{${prefix}*`)).sort();
      const tag = `{${prefix}user:u1}:`;
      expect(keys).toEqual(["requests_daily", "requests_hourly", "slots", "tokens_daily", "tokens_hourly"].map((k) => tag + k));
      const ttl = async (k: string) => redis.pttl(tag + k);
      expect(await ttl("requests_hourly")).toBeGreaterThan(2 * WINDOW_MS.hour - 60_000);
      expect(await ttl("tokens_daily")).toBeLessThanOrEqual(2 * WINDOW_MS.day);
      expect(await ttl("tokens_daily")).toBeGreaterThan(2 * WINDOW_MS.day - 60_000);
      expect(await ttl("slots")).toBeLessThanOrEqual(SLOT_TTL_MS);
      expect(await ttl("slots")).toBeGreaterThan(0);
      // A window's expiry is set when it starts a bucket, and lasts through the next bucket;
      // later writes in the same bucket leave it alone.
      const first = await ttl("requests_hourly");
      await new Promise((resolve) => setTimeout(resolve, 20));
      await limiter.admit("u1", all);
      const second = await ttl("requests_hourly");
      expect(second).toBeLessThan(first);
      const hour = WINDOW_MS.hour;
      expect(second).toBeGreaterThanOrEqual((Math.floor(Date.now() / hour) + 2) * hour - Date.now() - 50);
    } finally {
      await limiter.close();
      await redis.quit();
      await dropKeys(prefix);
    }
  });
});

describe("RedisLimiter leases", () => {
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const busy = { requestsHourly: 100_000, requestsDaily: 100_000, tokensHourly: 10_000_000, tokensDaily: 10_000_000, concurrency: 1000 };

  /** 800 admissions and settlements of one busy user through `url`, each answer equal to the memory limiter's. */
  async function sameAsMemory(url: string): Promise<void> {
    const prefix = redisPrefix();
    const redis = new RedisLimiter({ url, prefix });
    const memory = new MemoryLimiter();
    const T = Date.UTC(2030, 0, 1) + 5_000;
    const held: { redis: string; memory: string }[] = [];
    const withoutSlot = (a: Awaited<ReturnType<typeof memory.admit>>) => ({ ...a, slot: undefined });
    try {
      for (let i = 0; i < 800; i++) {
        const now = T + Math.floor(i / 4); // 200 ms of the caller's clock: leases end and are renewed
        // Now and then a pause, so that owed settlements go out between admissions.
        if (i % 25 === 0) await wait(OWED_MS);
        const [r, m] = [await redis.admit("u1", busy, now), await memory.admit("u1", busy, now)];
        expect(withoutSlot(r)).toEqual(withoutSlot(m));
        if (!r.ok || !m.ok) throw new Error("refused");
        held.push({ redis: r.slot, memory: m.slot });
        if (held.length > 30) {
          const done = held.shift()!;
          await redis.finish("u1", done.redis, i % 40, busy, now);
          await memory.finish("u1", done.memory, i % 40, busy, now);
        }
      }
      const end = T + 200;
      expect(await redis.state("u1", busy, end)).toEqual(await memory.state("u1", busy, end));
    } finally {
      await redis.close();
      await dropKeys(prefix);
    }
  }

  it("decides a busy user's requests as the memory limiter does", async () => {
    await sameAsMemory(REDIS_URL);
  });

  it("decides most of them without a round trip", async () => {
    const proxy = await tcpProxy(6379);
    try {
      await sameAsMemory(`redis://127.0.0.1:${proxy.port}`);
      expect(proxy.scripts()).toBeLessThan(800 / 10);
    } finally {
      await proxy.stop();
    }
  });

  it("never admits past a limit across gateways, and what one holds ahead comes back when it idles", async () => {
    const prefix = redisPrefix();
    const gateways = [new RedisLimiter({ url: REDIS_URL, prefix }), new RedisLimiter({ url: REDIS_URL, prefix })];
    const limits = { ...NO_LIMITS, requestsHourly: 1000, concurrency: 1000 };
    let admitted = 0;
    try {
      // 40 clients, half on each gateway, each sending until its first refusal.
      await Promise.all(
        Array.from({ length: 40 }, async (_, c) => {
          const gateway = gateways[c % 2]!;
          for (;;) {
            const a = await gateway.admit("u1", limits);
            if (!a.ok) return;
            admitted++;
            await wait(0);
            await gateway.finish("u1", a.slot, 0, limits);
          }
        }),
      );
      expect(admitted).toBeLessThanOrEqual(1000);
      await wait(3 * LEASE_MS);
      for (;;) {
        const a = await gateways[0]!.admit("u1", limits);
        if (!a.ok) break;
        admitted++;
        await gateways[0]!.finish("u1", a.slot, 0, limits);
      }
      expect(admitted).toBe(1000);
      expect((await gateways[1]!.state("u1", limits)).windows[0]).toMatchObject({ used: 1000, remaining: 0 });
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await dropKeys(prefix);
    }
  });

  it("counts another gateway's tokens within LEASE_MS", async () => {
    const prefix = redisPrefix();
    const [a, b] = [new RedisLimiter({ url: REDIS_URL, prefix }), new RedisLimiter({ url: REDIS_URL, prefix })];
    const limits = { ...NO_LIMITS, tokensHourly: 1000 };
    try {
      expect((await a.admit("u1", limits)).ok).toBe(true);
      const used = await b.admit("u1", limits);
      if (!used.ok) throw new Error("refused");
      await b.finish("u1", used.slot, 1000, limits);
      await wait(2 * LEASE_MS);
      expect(await a.admit("u1", limits)).toMatchObject({ ok: false, kind: "tokens_hourly" });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropKeys(prefix);
    }
  });

  const pooled = { ...NO_LIMITS, concurrency: 200 };
  /** Admits up to n requests of u1 under `pooled` on g, until one is refused; their slots. */
  const take = async (g: RedisLimiter, n: number) => {
    const slots: string[] = [];
    while (slots.length < n) {
      const r = await g.admit("u1", pooled);
      if (!r.ok) break;
      slots.push(r.slot);
    }
    return slots;
  };

  it("holds a pool of slots other gateways count in flight, and gives back its free ones when idle", async () => {
    const prefix = redisPrefix();
    const [a, b] = [new RedisLimiter({ url: REDIS_URL, prefix }), new RedisLimiter({ url: REDIS_URL, prefix })];
    try {
      const onA = await take(a, 50);
      expect(onA).toHaveLength(50);
      await wait(3 * LEASE_MS);
      const onB = await take(b, 1000);
      expect(onB).toHaveLength(150);
      expect((await b.admit("u1", pooled)).ok).toBe(false);
      for (const slot of onA) await a.finish("u1", slot, 0, pooled);
      for (const slot of onB) await b.finish("u1", slot, 0, pooled);
      await wait(3 * LEASE_MS);
      expect((await a.state("u1", pooled)).concurrency).toEqual({ limit: 200, inFlight: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropKeys(prefix);
    }
  });

  it("puts its pool back into Redis after reconnecting, in case Redis lost its data", async () => {
    const proxy = await tcpProxy(6379);
    const prefix = redisPrefix();
    const [a, b] = [new RedisLimiter({ url: `redis://127.0.0.1:${proxy.port}`, prefix }), new RedisLimiter({ url: REDIS_URL, prefix })];
    try {
      const onA = await take(a, 50);
      // Slots Redis handed out one by one are lost with its data, as without a lease; a pool's
      // (ids POOL_PREFIX + "u" + n) are the lease's to put back. Only those stay in flight.
      const pooledOnA = onA.filter((slot) => /:u\d+$/.test(slot));
      for (const slot of onA) if (!pooledOnA.includes(slot)) await a.finish("u1", slot, 0, pooled);
      expect(pooledOnA.length).toBeGreaterThan(30);
      await wait(3 * LEASE_MS); // idle: a's pool is down to its slots in use
      await proxy.stop();
      await dropKeys(prefix); // Redis restarted without its data
      await proxy.start();
      await eventually(() => a.ping(), 5000);
      await wait(3 * LEASE_MS);
      expect(await take(b, 1000)).toHaveLength(200 - pooledOnA.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await proxy.stop();
      await dropKeys(prefix);
    }
  });
});

describe("RedisLimiter when Redis is unreachable", () => {
  const limits = { ...NO_LIMITS, requestsHourly: 10, tokensHourly: 10, concurrency: 2 };

  it("throws LimiterUnavailable within a second from every operation", async () => {
    const limiter = new RedisLimiter({ url: "redis://127.0.0.1:1", prefix: redisPrefix() });
    try {
      for (const op of [
        () => limiter.admit("u1", limits),
        () => limiter.finish("u1", "slot", 5, limits),
        () => limiter.state("u1", limits),
        () => limiter.ping(),
      ]) {
        const started = performance.now();
        await expect(op()).rejects.toBeInstanceOf(LimiterUnavailable);
        expect(performance.now() - started).toBeLessThan(1000);
      }
      // Users without limits never reach Redis, so they keep working.
      expect((await limiter.admit("u2", NO_LIMITS)).ok).toBe(true);
    } finally {
      await limiter.close();
    }
  });

  it("resumes by itself when Redis comes back", async () => {
    const proxy = await tcpProxy(6379);
    const prefix = redisPrefix();
    const limiter = new RedisLimiter({ url: `redis://127.0.0.1:${proxy.port}`, prefix });
    try {
      expect((await limiter.admit("u1", limits)).ok).toBe(true);
      await proxy.stop();
      await expect(limiter.admit("u1", limits)).rejects.toBeInstanceOf(LimiterUnavailable);
      await proxy.start();
      const state = await eventually(() => limiter.state("u1", limits), 5000);
      expect(state.windows[0]).toMatchObject({ name: "requests_hourly", used: 1 });
      expect((await limiter.admit("u1", limits)).ok).toBe(true);
    } finally {
      await limiter.close();
      await proxy.stop();
      await dropKeys(prefix);
    }
  });
});

/** Retries `op` until it resolves or `ms` have passed. */
async function eventually<T>(op: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A TCP forwarder to a local port that can be stopped (dropping every connection) and started
 * again on the same port; `scripts()` counts the script calls (EVALSHA, EVAL) clients sent through it.
 */
async function tcpProxy(target: number): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void>; scripts(): number }> {
  const sockets = new Set<Socket>();
  let scripts = 0;
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    client.on("data", (chunk: Buffer) => (scripts += chunk.toString("latin1").match(/\$(7\r\nevalsha|4\r\neval)\r\n/gi)?.length ?? 0));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) =>
      server.listen(port, "127.0.0.1", () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      }),
    );
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  await start();
  return { port, stop, start, scripts: () => scripts };
}
