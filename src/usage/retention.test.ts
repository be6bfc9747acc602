import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { memoryLogger, usageRow } from "./fixtures.ts";
import { waitFor } from "../../test/support/wait.ts";
import { startRetention } from "./retention.ts";

const DAY = 86_400_000;

describe("usage retention", () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  const old = { ...usageRow(1), at: new Date(Date.now() - 40 * DAY) };
  const recent = { ...usageRow(2), at: new Date(Date.now() - 2 * DAY) };

  beforeEach(async () => {
    dir = tempDir();
    store = await openStore({ driver: "sqlite", path: join(dir.path, "parallama.db") });
    await store.migrate();
    await store.insertUsage([old, recent]);
  });

  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it("prunes raw rows older than retentionDays at start and keeps the rollups", async () => {
    const log = memoryLogger();
    const stop = startRetention(store, 30, log);
    await waitFor("the first prune", () => log.lines.length > 0);
    stop();
    const dump = await store.dump();
    expect(dump.usage.map((u) => u.id)).toEqual([recent.id]);
    expect(dump.rollups.reduce((n, r) => n + r.requests, 0)).toBe(2);
    expect(log.lines).toEqual([{ level: "info", msg: "pruned raw usage rows" }]);
  });

  it("prunes again every interval", async () => {
    const log = memoryLogger();
    const stop = startRetention(store, 30, log, 20);
    await waitFor("the first prune", () => log.lines.length === 1);
    await store.insertUsage([{ ...usageRow(3), at: new Date(Date.now() - 31 * DAY) }]);
    await waitFor("a later prune", () => log.lines.length === 2);
    stop();
    expect((await store.dump()).usage.map((u) => u.id)).toEqual([recent.id]);
  });

  it("keeps everything when retentionDays is 0", async () => {
    const stop = startRetention(store, 0, memoryLogger(), 5);
    await Bun.sleep(30);
    stop();
    expect((await store.dump()).usage).toHaveLength(2);
  });

  it("refuses a negative or fractional retention when started", () => {
    expect(() => startRetention(store, -1, memoryLogger())).toThrow(/retentionDays/);
    expect(() => startRetention(store, 1.5, memoryLogger())).toThrow(/retentionDays/);
  });
});
