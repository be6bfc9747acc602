import { describe, expect, it } from "vitest";
import { targetValue } from "../../scripts/bench-report.ts";

describe("the bench's targets table", () => {
  it("prints a value that misses its limit with the digit that shows it", () => {
    const t = { id: "rps.sqlite.chat", text: "(a)", limit: 0.6 };
    expect(targetValue({ ...t, value: 0.5971, met: false })).toBe("0.597");
    expect(targetValue({ ...t, value: 0.6012, met: true })).toBe("0.60");
    expect(targetValue({ ...t, value: 0.43, met: false })).toBe("0.43");
  });
});
