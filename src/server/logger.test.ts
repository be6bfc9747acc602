import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { createLogSink } from "./logger.ts";

describe("request lines", () => {
  it("are JSON lines at level info with the time of each line, in the order written", async () => {
    const dir = tempDir();
    try {
      const sink = createLogSink({ level: "info", dir: dir.path, maxSize: "100MB", backupCount: 1 });
      const before = Date.now();
      sink.request({ msg: "request", id: "a", status: 200 });
      sink.request({ msg: "request", id: "b", status: 200 });
      await Bun.sleep(10);
      sink.request({ msg: "request", id: "c", status: 429 });
      const after = Date.now();
      sink.flush();
      const lines = readFileSync(join(dir.path, "parallama.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.level, l.pid, l.id, l.status])).toEqual([
        ["info", process.pid, "a", 200],
        ["info", process.pid, "b", 200],
        ["info", process.pid, "c", 429],
      ]);
      const times = lines.map((l) => Date.parse(l.time));
      for (const t of times) expect(t).toBeGreaterThanOrEqual(before);
      for (const t of times) expect(t).toBeLessThanOrEqual(after);
      expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(5); // a later millisecond gets its own time
      expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      dir.remove();
    }
  });
});
