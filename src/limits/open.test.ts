import { describe, expect, it } from "vitest";
import { REDIS_URL, redisPrefix } from "../../test/support/services.ts";
import type { WindowState } from "./limiter.ts";
import { openLimiter, tightestWindow } from "./open.ts";

function w(name: WindowState["name"], remaining: number, resetMs: number): WindowState {
  return { name, limit: 100, used: 100 - remaining, remaining, resetMs };
}

describe("openLimiter", () => {
  it("uses memory without Redis and Redis when configured", async () => {
    const memory = openLimiter(null);
    const redis = openLimiter({ url: REDIS_URL, prefix: redisPrefix(), onError: "deny" });
    expect([memory.driver, redis.driver]).toEqual(["memory", "redis"]);
    await redis.ping();
    await Promise.all([memory.close(), redis.close()]);
  });
});

describe("tightestWindow", () => {
  it("picks the smallest remaining, and on a tie the longest reset", () => {
    expect(tightestWindow({ windows: [], concurrency: null })).toBeNull();
    const state = (windows: WindowState[]) => ({ windows, concurrency: null });
    expect(tightestWindow(state([w("requests_hourly", 5, 10), w("tokens_daily", 3, 99)]))?.name).toBe("tokens_daily");
    expect(tightestWindow(state([w("requests_hourly", 0, 10), w("requests_daily", 0, 500)]))?.name).toBe("requests_daily");
  });
});
