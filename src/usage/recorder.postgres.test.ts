import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freshPostgres, type TestDatabase } from "../../test/support/services.ts";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.ts";
import { tempDir } from "../../test/support/tmp.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { memoryLogger, usageRow, usageRows } from "./fixtures.ts";
import { waitFor } from "../../test/support/wait.ts";
import { UsageRecorder } from "./recorder.ts";

/** PostgreSQL made unreachable by a TCP proxy between the store and the real server. */
describe("usage recorder on PostgreSQL through an outage", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let store: Store;
  let direct: SQL;
  let dir: ReturnType<typeof tempDir>;
  let spillPath: string;

  beforeAll(async () => {
    db = await freshPostgres();
    const url = new URL(db.url);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    store = await openStore({ driver: "postgres", url: db.url.replace(url.host, proxy.address), poolSize: 2 });
    await store.migrate();
    direct = new SQL(db.url);
  });

  afterAll(async () => {
    await store.close();
    await direct.close();
    proxy.stop();
    await db.drop();
  });

  beforeEach(async () => {
    dir = tempDir();
    spillPath = join(dir.path, "usage-spill.jsonl");
    proxy.resume();
    await direct`TRUNCATE usage_logs, usage_hourly`;
  });
  afterEach(() => dir.remove());

  /** Counted on a direct connection, so the proxy's state cannot hide rows. */
  const counts = async () => {
    const [row] = await direct`SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids, (SELECT coalesce(sum(requests), 0)::int FROM usage_hourly) AS rolled FROM usage_logs`;
    return row as { rows: number; ids: number; rolled: number };
  };

  const spillFiles = () => readdirSync(dir.path).filter((f) => f.startsWith("usage-spill"));

  it("keeps 1000 rows through an outage (memory, then spill file) and writes each once on recovery", async () => {
    const log = memoryLogger();
    const recorder = new UsageRecorder(store, { flushIntervalMs: 50, batchSize: 100, memoryLimit: 100, spillPath, logger: log, backoff: { minMs: 50, maxMs: 200 } });
    proxy.pause();
    for (const row of usageRows(1000)) recorder.record(row);
    await waitFor("a failed write and a spill", () => recorder.failedWrites > 0 && recorder.spillBytes > 0);
    await waitFor("memory back within memoryLimit", () => recorder.queueDepth <= 100);

    proxy.resume();
    await waitFor("queue and spill file to empty", () => recorder.queueDepth === 0 && recorder.spillBytes === 0, 20_000);
    expect(await counts()).toEqual({ rows: 1000, ids: 1000, rolled: 1000 });
    expect(spillFiles()).toEqual([]);
    expect(log.lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === "usage store writes recovered")).toHaveLength(1);
    await recorder.close(1_000);
  }, 30_000);

  it("spills everything at close() with the database down; a new recorder replays it", async () => {
    const first = new UsageRecorder(store, { flushIntervalMs: 60_000, batchSize: 100, memoryLimit: 10_000, spillPath });
    proxy.pause();
    for (const row of usageRows(250)) first.record(row);
    await first.close(500);
    expect(first.queueDepth).toBe(0);
    expect(spillFiles()).toEqual(["usage-spill.jsonl"]);
    expect(await counts()).toEqual({ rows: 0, ids: 0, rolled: 0 });

    proxy.resume();
    const second = new UsageRecorder(store, { flushIntervalMs: 60_000, batchSize: 100, memoryLimit: 10_000, spillPath });
    await waitFor("the replay", () => second.spillBytes === 0 && second.writtenTotal === 250, 20_000);
    expect(await counts()).toEqual({ rows: 250, ids: 250, rolled: 250 });
    expect(spillFiles()).toEqual([]);
    await second.close(1_000);
  }, 30_000);

  it("sets aside a row PostgreSQL refuses (a model name longer than its column) and records the rest", async () => {
    const recorder = new UsageRecorder(store, { flushIntervalMs: 60_000, batchSize: 100, memoryLimit: 10_000, spillPath });
    const bad = { ...usageRow(0), model: "m".repeat(300) }; // a client can send any model name
    for (const row of [bad, ...usageRows(49)]) recorder.record(row);
    await recorder.flush();
    expect(recorder.rejectedRows).toBe(1);
    expect(await counts()).toEqual({ rows: 49, ids: 49, rolled: 49 });
    expect(spillFiles()).toEqual(["usage-spill.jsonl.rejected"]);
    await recorder.close(1_000);
  });
});
