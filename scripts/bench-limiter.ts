/**
 * The limiter's cost per request (admit + finish) for each driver, one user with every limit set,
 * measured in this process with nothing else running: the driver's own cost, apart from HTTP.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Limiter } from "../src/limits/limiter.ts";
import { MemoryLimiter } from "../src/limits/memory.ts";
import { RedisLimiter } from "../src/limits/redis.ts";
import type { Limits } from "../src/store/store.ts";

const LIMITS: Limits = { requestsHourly: 1e9, requestsDaily: 1e9, tokensHourly: 1e12, tokensDaily: 1e12, concurrency: 1e6 };

export interface LimiterCost {
  driver: string;
  /** Wall µs per admit + finish, one request at a time (for Redis: two round trips). */
  serialUs: number;
  /** Wall µs per admit + finish with 64 in flight (throughput view; Redis pipelines). */
  parallel64Us: number;
}

async function measure(limiter: Limiter, parallel: number, n: number): Promise<number> {
  const user = randomUUID();
  const one = async () => {
    const a = await limiter.admit(user, LIMITS);
    if (a.ok) await limiter.finish(user, a.slot, 100, LIMITS);
  };
  for (let i = 0; i < Math.min(1000, n); i++) await one();
  const started = performance.now();
  const worker = async () => {
    for (let i = 0; i < n / parallel; i++) await one();
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return ((performance.now() - started) * 1000) / n;
}

export async function limiterCosts(redisUrl: string, n: number): Promise<LimiterCost[]> {
  const prefix = `parallama_bench:${randomUUID()}:`;
  const out: LimiterCost[] = [];
  for (const limiter of [new MemoryLimiter(), new RedisLimiter({ url: redisUrl, prefix })] as Limiter[]) {
    out.push({ driver: limiter.driver, serialUs: await measure(limiter, 1, n), parallel64Us: await measure(limiter, 64, n) });
    await limiter.close();
  }
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`{${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  return out;
}

/**
 * Script calls (EVALSHA/EVAL) Redis has executed since start, from INFO commandstats: each is one
 * round trip from the gateway. Commands run inside the scripts are counted apart, not here.
 * Server-wide: another client running scripts at the same time would add to it.
 */
export async function redisCalls(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/gm)) calls += Number(m[2]);
  return calls;
}
