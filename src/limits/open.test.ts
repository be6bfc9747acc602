import { describe, expect, it } from "vitest";
import { REDIS_URL, redisPrefix } from "../../test/support/services.ts";
import { openLimiter } from "./open.ts";

describe("openLimiter", () => {
  it("uses memory without Redis and Redis when configured", async () => {
    const memory = openLimiter(null);
    const redis = openLimiter({ url: REDIS_URL, prefix: redisPrefix(), onError: "deny" });
    expect([memory.driver, redis.driver]).toEqual(["memory", "redis"]);
    await redis.ping();
    await Promise.all([memory.close(), redis.close()]);
  });
});
