/** Choosing the limiter driver once at start-up, and reading its state for RateLimit-* headers. */

import type { Config } from "../config/schema.ts";
import type { Limiter, LimitState, WindowState } from "./limiter.ts";
import { MemoryLimiter } from "./memory.ts";
import { RedisLimiter } from "./redis.ts";

/** In-memory limits for one gateway when Redis is not configured; shared limits through Redis otherwise. */
export function openLimiter(config: Config["redis"]): Limiter {
  if (config === null) return new MemoryLimiter();
  return new RedisLimiter({ url: config.url, prefix: config.prefix });
}

/**
 * The window a client is closest to hitting: the smallest remaining; on a tie the longest
 * reset, since a client waiting only for the shorter one would still be refused by the other.
 * null when the user has no window limit.
 */
export function tightestWindow(state: LimitState): WindowState | null {
  let best: WindowState | null = null;
  for (const w of state.windows) {
    if (!best || w.remaining < best.remaining || (w.remaining === best.remaining && w.resetMs > best.resetMs)) best = w;
  }
  return best;
}
