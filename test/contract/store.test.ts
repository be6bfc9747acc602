import { SQL } from "bun";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.ts";
import { openStore } from "../../src/store/open.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import { freshPostgres } from "../support/services.ts";
import { tempDir } from "../support/tmp.ts";
import { contents, expectStoreError, storeContract, type StoreUnderTest } from "./store.contract.ts";
import { populate, usageRow } from "./store-fixtures.ts";

async function sqlite(): Promise<StoreUnderTest> {
  const dir = tempDir();
  // A directory that does not exist yet: openStore creates it.
  const config: Config["database"] = { driver: "sqlite", path: join(dir.path, "data", "parallama.db") };
  const store = await openStore(config);
  return { store, config, cleanup: async () => (await store.close(), dir.remove()) };
}

async function postgres(): Promise<StoreUnderTest> {
  const db = await freshPostgres();
  const config: Config["database"] = { driver: "postgres", url: db.url, poolSize: 4 };
  const store = await openStore(config);
  return { store, config, cleanup: async () => (await store.close(), await db.drop()) };
}

storeContract("sqlite", sqlite);
storeContract("postgres", postgres);

describe("moving between drivers", () => {
  it("restores a SQLite dump into PostgreSQL and back, every row equal", async () => {
    const [source, middle, back] = [await sqlite(), await postgres(), await sqlite()];
    try {
      for (const t of [source, middle, back]) await t.store.migrate();
      await populate(source.store);
      const original = await source.store.dump();
      await middle.store.restore(original, { force: false });
      const viaPostgres = await middle.store.dump();
      expect(contents(viaPostgres)).toEqual(contents(original));
      await back.store.restore(viaPostgres, { force: false });
      expect(contents(await back.store.dump())).toEqual(contents(original));
      for (const query of [{ by: ["user", "model"] as const }, { by: ["hour"] as const, since: new Date(1) }]) {
        const q = { ...query, by: [...query.by] };
        expect(await middle.store.report(q)).toEqual(await source.store.report(q));
      }
    } finally {
      for (const t of [source, middle, back]) await t.cleanup();
    }
  });
});

describe("an unreachable database", () => {
  it("is StoreError unavailable within seconds, naming host and port", async () => {
    const started = Date.now();
    const error = await expectStoreError(openStore({ driver: "postgres", url: "postgres://postgres@127.0.0.1:1/parallama", poolSize: 2 }), "unavailable");
    expect(error.message).toMatch(/^database unreachable: 127\.0\.0\.1:1: /);
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it("is StoreError unavailable for a database that does not exist", async () => {
    const error = await expectStoreError(
      openStore({ driver: "postgres", url: "postgres://postgres@127.0.0.1:5432/parallama_absent_db", poolSize: 2 }),
      "unavailable",
    );
    expect(error.message).toContain("127.0.0.1:5432");
  });

  it("is StoreError unavailable for a SQLite file that cannot be created", async () => {
    await expectStoreError(openStore({ driver: "sqlite", path: "/proc/parallama/parallama.db" }), "unavailable");
  });
});

describe("a PostgreSQL server that stops answering", () => {
  // A lock held by another session stands in for a silent server or network: the query is sent and no answer comes.
  it("fails a short operation with StoreError unavailable at the deadline, writes none of it, and recovers", async () => {
    const db = await freshPostgres();
    const store = openPostgresStore(db.url, 2, { answerTimeoutMs: 500 });
    const locker = new SQL(db.url, { max: 1 });
    try {
      await store.migrate();
      const locked = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      const holding = locker.begin(async (tx) => {
        await tx`LOCK TABLE usage_logs IN ACCESS EXCLUSIVE MODE`;
        locked.resolve();
        await release.promise;
      });
      await locked.promise;
      const started = Date.now();
      const error = await expectStoreError(store.insertUsage([usageRow({ id: null, name: "ann" })]), "unavailable");
      expect(error.message).toBe(`database unreachable: ${new URL(db.url).host}: no answer within 0.5 s`);
      expect(Date.now() - started).toBeLessThan(2_000);
      release.resolve();
      await holding;
      await store.insertUsage([usageRow({ id: null, name: "bob" })]);
      expect(await store.report({ by: ["user"] })).toMatchObject([{ user: "bob", requests: 1 }]);
    } finally {
      await locker.close();
      await store.close();
      await db.drop();
    }
  });
});
