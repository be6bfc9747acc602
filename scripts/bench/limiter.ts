/**
 * The limiter's cost per request (admit + finish) for each driver, one user with every limit set.
 * Run: node_modules/.bin/bun scripts/bench-limiter.ts [redis-url]
 */

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Limiter } from "../src/limits/limiter.ts";
import { MemoryLimiter } from "../src/limits/memory.ts";
import { RedisLimiter } from "../src/limits/redis.ts";
import type { Limits } from "../src/store/store.ts";

const REDIS_URL = process.argv[2] ?? "redis://127.0.0.1:6379/0";
const LIMITS: Limits = { requestsHourly: 1e9, requestsDaily: 1e9, tokensHourly: 1e12, tokensDaily: 1e12, concurrency: 1e6 };
const N = 20_000;

/** Microseconds per admit + finish, one request at a time, then with `parallel` requests in flight. */
async function measure(limiter: Limiter, parallel: number): Promise<number> {
  const user = randomUUID();
  const one = async () => {
    const a = await limiter.admit(user, LIMITS);
    if (a.ok) await limiter.finish(user, a.slot, 100, LIMITS);
  };
  for (let i = 0; i < 1000; i++) await one();
  const started = performance.now();
  const worker = async () => {
    for (let i = 0; i < N / parallel; i++) await one();
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return ((performance.now() - started) * 1000) / N;
}

async function main(): Promise<void> {
  const prefix = `parallama_bench:${randomUUID()}:`;
  const drivers: Limiter[] = [new MemoryLimiter(), new RedisLimiter({ url: REDIS_URL, prefix })];
  for (const limiter of drivers) {
    for (const parallel of [1, 64]) {
      const us = await measure(limiter, parallel);
      console.log(`${limiter.driver.padEnd(6)} ${String(parallel).padStart(2)} in flight: ${us.toFixed(1)} µs per admit+finish`);
    }
    await limiter.close();
  }
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}

await main();
