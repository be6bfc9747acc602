import { describe, expect, it } from "vitest";
import { parseDuration, parseSize } from "./units.ts";

describe("parseDuration", () => {
  it("reads single and compound units", () => {
    expect(parseDuration("30d")).toBe(30 * 86_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.5s")).toBe(1500);
  });
  it("rejects what is not a duration", () => {
    for (const bad of ["", "30", "d", "-1h", "1 h", "1y", "abc"]) expect(parseDuration(bad)).toBeNull();
  });
});

describe("parseSize", () => {
  it("reads byte counts and binary units", () => {
    expect(parseSize("1024")).toBe(1024);
    expect(parseSize("64M")).toBe(64 * 1024 * 1024);
    expect(parseSize("100MB")).toBe(100 * 1024 * 1024);
    expect(parseSize("1GiB")).toBe(1024 ** 3);
  });
  it("rejects what is not a size", () => {
    for (const bad of ["", "M", "-1", "1.5M", "ten"]) expect(parseSize(bad)).toBeNull();
  });
});
