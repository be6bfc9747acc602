/** Choosing the limiter driver once at start-up. */

import type { Config } from "../config/schema.ts";
import type { Limiter } from "./limiter.ts";
import { MemoryLimiter } from "./memory.ts";
import { RedisLimiter } from "./redis.ts";

/** In-memory limits for one gateway when Redis is not configured; shared limits through Redis otherwise. */
export function openLimiter(config: Config["redis"]): Limiter {
  if (config === null) return new MemoryLimiter();
  return new RedisLimiter({ url: config.url, prefix: config.prefix });
}
