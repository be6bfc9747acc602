import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { usageRows } from "../usage/fixtures.ts";
import { SqliteCheckpointer } from "./sqlite-checkpointer.ts";
import { openSqliteStore } from "./sqlite.ts";

const autocheckpoint = (db: Database) => (db.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

describe("SqliteCheckpointer", () => {
  let dir: string;
  let path: string;
  let db: Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "checkpointer-"));
    path = join(dir, "p.db");
    db = new Database(path, { create: true, readwrite: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("CREATE TABLE t (x BLOB)");
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes checkpoints off the main connection: a commit leaves the WAL to the worker, which copies it when asked", async () => {
    const errors: Error[] = [];
    const checkpointer = new SqliteCheckpointer(db, path, (err) => errors.push(err));
    await until(() => autocheckpoint(db) === 0);
    const before = statSync(path).size;
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 4096; i++) insert.run(new Uint8Array(1024));
    })();
    expect(statSync(path).size).toBe(before);
    checkpointer.wrote(4096);
    await checkpointer.beforeWrite();
    expect(statSync(path).size).toBeGreaterThan(4_000_000);
    expect(statSync(`${path}-wal`).size).toBe(0);
    await checkpointer.stop();
    expect(autocheckpoint(db)).toBe(1000);
    expect(errors).toEqual([]);
  });

  it("keeps the WAL bounded under sustained usage writes through the store", async () => {
    const errors: Error[] = [];
    const store = openSqliteStore(join(dir, "store.db"), { backgroundCheckpoints: { onError: (err) => errors.push(err) } });
    await store.migrate();
    await Bun.sleep(200); // the worker's "ready" arrives as a message
    // Rows as the gateway writes them: time-ordered ids and timestamps. 38,400 of them write ~35 MB
    // of WAL pages; checkpointed and emptied every 4,096 rows, the WAL never holds more than ~4 MB.
    let largest = 0;
    for (let n = 0; n < 600; n++) {
      await store.insertUsage(usageRows(64).map((row) => ({ ...row, id: Bun.randomUUIDv7(), at: new Date() })));
      largest = Math.max(largest, statSync(join(dir, "store.db-wal")).size);
    }
    expect(largest).toBeLessThan(5_000_000);
    await store.close();
    expect(errors).toEqual([]);
  });

  it("leaves checkpoints on the main connection and reports why when the worker cannot open the database", async () => {
    const errors: Error[] = [];
    const checkpointer = new SqliteCheckpointer(db, join(dir, "missing", "p.db"), (err) => errors.push(err));
    await until(() => errors.length > 0);
    expect(errors[0]!.message).toContain("background WAL checkpoints of");
    expect(autocheckpoint(db)).toBe(1000);
    await checkpointer.stop();
  });
});
