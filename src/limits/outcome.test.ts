import { describe, expect, it } from "vitest";
import type { WindowState } from "./limiter.ts";
import { tightestWindow } from "./outcome.ts";

function w(name: WindowState["name"], remaining: number, resetMs: number): WindowState {
  return { name, limit: 100, used: 100 - remaining, remaining, resetMs };
}

describe("tightestWindow", () => {
  it("picks the smallest remaining, and on a tie the longest reset", () => {
    expect(tightestWindow({ windows: [], concurrency: null })).toBeNull();
    const state = (windows: WindowState[]) => ({ windows, concurrency: null });
    expect(tightestWindow(state([w("requests_hourly", 5, 10), w("tokens_daily", 3, 99)]))?.name).toBe("tokens_daily");
    expect(tightestWindow(state([w("requests_hourly", 0, 10), w("requests_daily", 0, 500)]))?.name).toBe("requests_daily");
  });
});
