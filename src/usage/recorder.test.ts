import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { memoryLogger, storedUsage, SwitchableSink, usageRow, usageRows } from "./fixtures.ts";
import { waitFor } from "../../test/support/wait.ts";
import { SpillFile } from "./spill-file.ts";
import { type RecorderOptions, UsageRecorder } from "./recorder.ts";

const HOUR = 3_600_000;

describe("usage recorder on SQLite", () => {
  let dir: ReturnType<typeof tempDir>;
  let dbPath: string;
  let spillPath: string;
  let store: Store;
  let sink: SwitchableSink;
  const recorders: UsageRecorder[] = [];

  const recorder = (options: Partial<RecorderOptions> = {}, target: Store | SwitchableSink = sink) => {
    const r = new UsageRecorder(target, { flushIntervalMs: HOUR, batchSize: 100, memoryLimit: 10_000, spillPath, backoff: { minMs: 10, maxMs: 40 }, ...options });
    recorders.push(r);
    return r;
  };

  beforeEach(async () => {
    dir = tempDir();
    dbPath = join(dir.path, "parallama.db");
    spillPath = join(dir.path, "usage.spill");
    store = await openStore({ driver: "sqlite", path: dbPath });
    await store.migrate();
    sink = new SwitchableSink(store);
  });

  afterEach(async () => {
    sink.down = true; // what is left goes to the spill file, not into the next test's way
    for (const r of recorders.splice(0)) await r.close(0);
    await store.close();
    dir.remove();
  });

  it("writes a batch as soon as batchSize rows are queued, not before", async () => {
    const r = recorder({ batchSize: 10 });
    for (const row of usageRows(9)) r.record(row);
    await Bun.sleep(30);
    expect(sink.batches).toEqual([]);
    r.record(usageRow(9));
    await waitFor("the full batch", () => r.writtenTotal === 10);
    expect(sink.batches).toEqual([10]);
    expect(r.queueDepth).toBe(0);
  });

  it("leaves the rows that arrive while a full batch is written to fill the next one", async () => {
    let release!: () => void;
    sink.hold = new Promise<void>((resolve) => (release = resolve));
    const r = recorder({ batchSize: 4 });
    for (const row of usageRows(4)) r.record(row);
    await waitFor("the first write to start", () => sink.inFlight === 1);
    for (const row of usageRows(2)) r.record(row);
    sink.hold = null;
    release();
    await waitFor("the first batch", () => r.writtenTotal === 4);
    await Bun.sleep(30);
    expect(sink.batches).toEqual([4]);
    expect(r.queueDepth).toBe(2);
    for (const row of usageRows(2)) r.record(row);
    await waitFor("the second full batch", () => r.writtenTotal === 8);
    expect(sink.batches).toEqual([4, 4]);
  });

  it("writes a partial batch every flushIntervalMs", async () => {
    const r = recorder({ batchSize: 1000, flushIntervalMs: 50 });
    for (const row of usageRows(3)) r.record(row);
    await waitFor("the first interval", () => r.writtenTotal === 3);
    for (const row of usageRows(2)) r.record(row);
    await waitFor("the next interval", () => r.writtenTotal === 5);
    expect(sink.batches).toEqual([3, 2]);
    expect((await storedUsage(store)).ids).toHaveLength(5);
  });

  it("returns from record() at once while the store is slow, with one write in flight", async () => {
    const events: string[] = [];
    let release!: () => void;
    sink.hold = new Promise<void>((resolve) => (release = resolve)).then(() => void events.push("store released"));
    const r = recorder({ batchSize: 5 });
    for (const row of usageRows(5)) r.record(row);
    await waitFor("the first write to start", () => sink.inFlight === 1);
    for (const row of usageRows(20)) {
      expect(r.record(row)).toBeUndefined(); // not a promise: nothing to wait for
      events.push("recorded");
    }
    await Bun.sleep(20); // more full batches are queued, yet no second write starts
    expect(sink.inFlight).toBe(1);
    expect(r.queueDepth).toBe(25);
    release();
    await r.flush();
    expect(events.indexOf("store released")).toBe(20);
    expect(sink.maxInFlight).toBe(1);
    expect(r.writtenTotal).toBe(25);
  });

  it("retries a failed batch with backoff, logging the outage once and the recovery once", async () => {
    const log = memoryLogger();
    const r = recorder({ batchSize: 10, flushIntervalMs: 20, logger: log });
    sink.down = true;
    for (const row of usageRows(50)) r.record(row);
    await waitFor("several failed attempts", () => r.failedWrites >= 4);
    expect(r.queueDepth).toBe(50);
    sink.down = false;
    // Recovery is logged once the whole drain (every batch, then key last-use) has succeeded.
    await waitFor("the rows and the recovery", () => r.writtenTotal === 50 && log.lines.some((l) => l.msg === "usage store writes recovered"));
    const stored = await storedUsage(store);
    expect(new Set(stored.ids).size).toBe(50);
    expect(stored.rolledUp).toBe(50);
    expect(log.lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === "usage store writes recovered")).toHaveLength(1);
  });

  it("does not store a batch twice when the answer to a committed write was lost", async () => {
    const r = recorder({ batchSize: 10 });
    sink.loseAnswers = 1;
    const rows = usageRows(10);
    for (const row of rows) r.record(row);
    await waitFor("the retry", () => r.failedWrites === 1 && r.queueDepth === 0);
    await r.flush();
    const stored = await storedUsage(store);
    expect(stored.ids.sort()).toEqual(rows.map((x) => x.id).sort());
    expect(stored.rolledUp).toBe(10);
  });

  it("spills beyond memoryLimit during an outage and replays the file on recovery", async () => {
    const r = recorder({ batchSize: 50, memoryLimit: 100, flushIntervalMs: 20 });
    sink.down = true;
    const rows = usageRows(1000);
    for (const row of rows) r.record(row);
    await waitFor("rows to spill", () => r.spillBytes > 0 && r.queueDepth <= 100);
    sink.down = false;
    await waitFor("queue and spill file to empty", () => r.queueDepth === 0 && r.spillBytes === 0);
    const stored = await storedUsage(store);
    expect(stored.ids.sort()).toEqual(rows.map((x) => x.id).sort());
    expect(stored.rolledUp).toBe(1000);
    expect(readdirSync(dir.path).filter((f) => f.startsWith("usage.spill"))).toEqual([]);
  });

  it("spills everything at close() while the database is down; the next recorder replays it", async () => {
    const first = recorder();
    sink.down = true;
    const rows = usageRows(30);
    for (const row of rows) first.record(row);
    await first.close(100);
    expect(first.queueDepth).toBe(0);
    expect(first.spillBytes).toBeGreaterThan(0);
    const late = usageRow(30);
    first.record(late); // a request that finished after close: spilled too, not thrown

    sink.down = false;
    const second = recorder({}, store);
    await waitFor("the replay", () => second.writtenTotal === 31);
    expect((await storedUsage(store)).ids.sort()).toEqual([...rows, late].map((x) => x.id).sort());
    expect(existsSync(spillPath)).toBe(false);
  });

  it("spills at close() when another process holds the SQLite write lock", async () => {
    const other = new Database(dbPath);
    other.run("BEGIN IMMEDIATE");
    const rows = usageRows(10);
    const first = recorder({}, store);
    for (const row of rows) first.record(row);
    await first.close(100); // bun:sqlite waits out its busy timeout, then the rows are spilled
    expect(first.failedWrites).toBe(1);
    other.run("ROLLBACK");
    other.close();

    const second = recorder({}, store);
    await waitFor("the replay", () => second.writtenTotal === 10);
    expect((await storedUsage(store)).ids.sort()).toEqual(rows.map((x) => x.id).sort());
  }, 20_000);

  it("skips rows a crash mid-replay had already stored", async () => {
    const rows = usageRows(10);
    await store.insertUsage(rows.slice(0, 4));
    const spill = new SpillFile(spillPath);
    spill.append(rows);
    spill.close();
    const r = recorder({ batchSize: 3 });
    await waitFor("the replay", () => r.spillBytes === 0);
    expect(r.writtenTotal).toBe(6);
    const stored = await storedUsage(store);
    expect(stored.ids.sort()).toEqual(rows.map((x) => x.id).sort());
    expect(stored.rolledUp).toBe(10);
  });

  it("sets aside a row the store refuses on its own, and goes on recording", async () => {
    const log = memoryLogger();
    const r = recorder({ batchSize: 5, logger: log });
    const rows = usageRows(10);
    const bad = { ...usageRow(99), promptTokens: Number.NaN }; // NULL in a NOT NULL column
    for (const row of [...rows.slice(0, 3), bad, ...rows.slice(3)]) r.record(row);
    await r.flush();
    expect(r.rejectedRows).toBe(1);
    expect(r.failedWrites).toBe(0); // not an outage: no backoff, no retry
    expect((await storedUsage(store)).ids.sort()).toEqual(rows.map((x) => x.id).sort());
    const setAside = readFileSync(`${spillPath}.rejected`, "utf8").trim().split("\n");
    expect(setAside.map((line) => JSON.parse(line).id)).toEqual([bad.id]);
    expect(log.lines.filter((l) => l.level === "error")).toHaveLength(1);
  });

  it("sends key last-use times once per flush, latest per key", async () => {
    const user = await store.createUser({ name: "alice", role: "user" });
    for (const keyId of ["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
      await store.createKey({ userId: user.id, keyId, hash: "$argon2id$unused", name: null, expiresAt: null });
    const r = recorder({ batchSize: 10 });
    for (let i = 0; i < 30; i++) r.record(usageRow(i, i % 2 ? "aaaaaaaaaaaa" : "bbbbbbbbbbbb"));
    r.record(usageRow(100, null));
    await r.flush();
    expect(sink.touches).toHaveLength(1);
    expect([...sink.touches[0]!.entries()].sort()).toEqual([
      ["aaaaaaaaaaaa", usageRow(29).at],
      ["bbbbbbbbbbbb", usageRow(28).at],
    ]);
    expect((await store.findKey("aaaaaaaaaaaa"))?.lastUsedAt).toEqual(usageRow(29).at);
  });

  it("refuses options that cannot work when built", () => {
    expect(() => recorder({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => recorder({ memoryLimit: 1.5 })).toThrow(/memoryLimit/);
  });
});
