import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { LimiterUnavailable } from "../../src/limits/limiter.ts";
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
