import { execFileSync } from "node:child_process";
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
      sink.request!(JSON.stringify({ msg: "request", id: "a", status: 200 }));
      sink.request!(JSON.stringify({ msg: "request", id: "b", status: 200 }));
      await Bun.sleep(10);
      sink.request!(JSON.stringify({ msg: "request", id: "c", status: 429 }));
      const after = Date.now();
      await sink.flush();
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

  it("stay whole across blocks, with multi-byte text and the logger's own lines between them", async () => {
    const dir = tempDir();
    try {
      const sink = createLogSink({ level: "info", dir: dir.path, maxSize: "100MB", backupCount: 1 });
      const model = "модель-😀-" + "x".repeat(300); // 3- and 4-byte UTF-8, and ~1,000 lines pass 64 KiB blocks
      for (let i = 0; i < 1000; i++) {
        sink.request!(JSON.stringify({ msg: "request", id: `r${i}`, model, path: '/api/chat?q="quoted"' }));
        if (i % 250 === 0) sink.logger.warn({ at: i }, "between");
        if (i === 500) sink.request!(JSON.stringify({ msg: "request", id: "long", model: "m".repeat(100_000) })); // longer than a block
      }
      await Bun.sleep(10); // the file opens asynchronously
      await sink.flush();
      const lines = readFileSync(join(dir.path, "parallama.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const requests = lines.filter((l) => l.msg === "request" && l.id !== "long");
      expect(lines.find((l) => l.id === "long")?.model).toHaveLength(100_000);
      expect(requests.map((l) => l.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
      for (const l of requests) expect([l.level, l.model, l.path]).toEqual(["info", model, '/api/chat?q="quoted"']);
      expect(lines.filter((l) => l.msg === "between").map((l) => [l.level, l.at])).toEqual([["warn", 0], ["warn", 250], ["warn", 500], ["warn", 750]]);
    } finally {
      dir.remove();
    }
  });

  it("are all written, in order, once flush resolves, though a block's write is still in flight", async () => {
    const dir = tempDir();
    try {
      // The log is a pipe drained slowly by another process, so a block's write stays in flight
      // and the ones after it must wait for it (flushSync alone wrote them past it, interleaved).
      const log = join(dir.path, "parallama.log");
      execFileSync("mkfifo", [log]);
      const copy = join(dir.path, "read.log");
      const reader = Bun.spawn(["sh", "-c", `while :; do dd bs=4096 count=1 status=none; sleep 0.005; done <"${log}" >"${copy}"`]);
      try {
        const sink = createLogSink({ level: "info", dir: dir.path, maxSize: "100MB", backupCount: 1 });
        const model = "x".repeat(1000);
        for (let i = 0; i < 200; i++) sink.request!(JSON.stringify({ msg: "request", id: `r${i}`, model }));
        await Bun.sleep(50); // the pipe is open and the first block's write has started
        sink.request!(JSON.stringify({ msg: "request", id: "last" }));
        await sink.flush();
        while (!readFileSync(copy, "utf8").endsWith('"id":"last"}\n')) await Bun.sleep(10);
      } finally {
        reader.kill();
      }
      const ids = readFileSync(copy, "utf8").trim().split("\n").map((l) => JSON.parse(l).id);
      expect(ids).toEqual([...Array.from({ length: 200 }, (_, i) => `r${i}`), "last"]);
    } finally {
      dir.remove();
    }
  });
});
