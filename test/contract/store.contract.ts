/** The Store contract (src/store/store.ts), run unchanged against every driver. */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.ts";
import { BackupError } from "../../src/store/backup.ts";
import { StoreError, type Dump, type ReportQuery, type Store, type StoreErrorCode } from "../../src/store/store.ts";
import { USAGE_START, expectedReport, populate, usageRow } from "./store-fixtures.ts";

export interface StoreUnderTest {
  /** Opened on an empty database, not yet migrated. */
  store: Store;
  /** How to reach the same database again (another process, another pool). */
  config: Config["database"];
  cleanup(): Promise<void>;
}

const MIGRATIONS = ["0001_init", "0002_usage_hourly", "0003_usage_logs_one_index", "0004_usage_logs_no_row_trigger", "0005_usage_logs_brin_timestamp"];
const HOUR = 3_600_000;

export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe(code);
  return error as StoreError;
}

/** A dump without the moment it was taken, for comparing contents. */
export function contents(dump: Dump): Omit<Dump, "createdAt"> {
  const { createdAt: _, ...rest } = dump;
  return rest;
}

async function migrateInChild(config: Config["database"]): Promise<string[]> {
  const child = Bun.spawn([process.execPath, join(import.meta.dirname, "migrate-child.ts"), JSON.stringify(config)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`migrate child failed (${code}): ${err}`);
  return JSON.parse(out) as string[];
}

export function storeContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let db: StoreUnderTest;
    let store: Store;
    const opened: StoreUnderTest[] = [];
    async function another(): Promise<Store> {
      const next = await open();
      opened.push(next);
      await next.store.migrate();
      return next.store;
    }

    beforeEach(async () => {
      db = await open();
      store = db.store;
    });
    afterEach(async () => {
      for (const t of [db, ...opened.splice(0)]) await t.cleanup();
    });

    describe("migrations", () => {
      it("applies every migration once, in order, and then nothing", async () => {
        expect(await store.migrate()).toEqual(MIGRATIONS);
        expect(await store.migrate()).toEqual([]);
        await store.ping();
      });

      it("is safe to run from two processes at once", async () => {
        const [a, b] = await Promise.all([migrateInChild(db.config), migrateInChild(db.config)]);
        expect([...a, ...b].sort()).toEqual(MIGRATIONS);
        expect(await store.migrate()).toEqual([]);
      });
    });

    describe("with the schema", () => {
      beforeEach(async () => {
        await store.migrate();
      });

      it("creates, finds and lists users; a duplicate name is refused and writes nothing", async () => {
        const zed = await store.createUser({ name: "zed", role: "user" });
        const amy = await store.createUser({ name: "amy", role: "admin" });
        expect(zed).toMatchObject({ name: "zed", role: "user", disabled: false });
        expect(await store.findUser("zed")).toEqual(zed);
        expect(await store.findUser("nobody")).toBeNull();
        expect(await store.listUsers()).toEqual([amy, zed]);
        const before = await store.revision();
        const error = await expectStoreError(store.createUser({ name: "zed", role: "admin" }), "duplicate");
        expect(error.message).toContain("zed");
        expect(await store.listUsers()).toHaveLength(2);
        expect(await store.revision()).toBe(before);
        expect(await store.countAdmins()).toBe(1);
      });

      it("disables and enables a user; unknown ids are not_found", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        await store.setUserDisabled(u.id, true);
        expect((await store.findUser("u"))?.disabled).toBe(true);
        await store.setUserDisabled(u.id, false);
        expect((await store.findUser("u"))?.disabled).toBe(false);
        await expectStoreError(store.setUserDisabled(crypto.randomUUID(), true), "not_found");
        await expectStoreError(store.deleteUser(crypto.randomUUID()), "not_found");
      });

      it("deleting a user deletes keys, limits and allowlist but keeps usage with the name", async () => {
        const { alice, bob } = await populate(store);
        await store.deleteUser(bob.id);
        expect(await store.findUser("bob")).toBeNull();
        expect(await store.findKey("bobkey")).toBeNull();
        expect(await store.listKeys(bob.id)).toEqual([]);
        expect(await store.getLimits(bob.id)).toBeNull();
        expect(await store.getModels(bob.id)).toBeNull();
        const dump = await store.dump();
        const bobs = dump.usage.filter((r) => r.userName === "bob");
        expect(bobs.length).toBeGreaterThan(0);
        expect(bobs.every((r) => r.userId === null)).toBe(true);
        expect(dump.usage.filter((r) => r.userName === "alice").every((r) => r.userId === alice.id)).toBe(true);
        expect((await store.report({ by: ["user"] })).map((r) => r.user)).toEqual(["alice", "bob"]);
        // The recorder may flush rows of a user deleted meanwhile: they are kept, without the id.
        await store.insertUsage([usageRow(bob, { id: crypto.randomUUID() })]);
        expect((await store.dump()).usage.filter((r) => r.userName === "bob")).toHaveLength(bobs.length + 1);
      });

      it("leaves no usage row naming a user deleted while its usage was being written", async () => {
        for (let i = 0; i < 20; i++) {
          const u = await store.createUser({ name: `racer${i}`, role: "user" });
          const rows = Array.from({ length: 50 }, () => usageRow(u));
          await Promise.all([store.insertUsage(rows), store.deleteUser(u.id)]);
        }
        const dump = await store.dump();
        const racers = dump.usage.filter((r) => r.userName.startsWith("racer"));
        expect(racers).toHaveLength(20 * 50);
        expect(racers.filter((r) => r.userId !== null)).toEqual([]);
      });

      it("stores usage text exactly as the client sent it: escapes, line breaks, NULLs, non-ASCII", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        const odd = ["back\\slash \\N \\t", "tab\there", "line\nbreak\r\nand\rreturn", "\\", "é 模型 😀", " padded ", "", "'quote\" ;"];
        const written = odd.map((text, i) =>
          usageRow(u, { model: text, keyId: i % 2 ? text : null, endpoint: `/api/chat${text}`, durationMs: i === 0 ? 1e-7 : 0.1 + i, at: new Date(USAGE_START + i) }),
        );
        written.push(usageRow({ id: null, name: "\\N" }, { model: null, keyId: null }));
        await store.insertUsage(written);
        const byId = new Map((await store.dump()).usage.map((r) => [r.id, r]));
        for (const row of written) expect(byId.get(row.id)).toEqual(row);
      });

      it("refuses a usage batch with a row the store cannot hold, and keeps the rest of the store", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        const before = await store.dump();
        const bad = [usageRow(u), usageRow(u, { at: new Date(NaN) })];
        await expect(store.insertUsage(bad)).rejects.toThrow();
        expect(contents(await store.dump())).toEqual(contents(before));
      });

      it("creates, finds, lists, revokes, expires and touches keys", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        const other = await store.createUser({ name: "other", role: "user" });
        const first = await store.createKey({ userId: u.id, keyId: "k1", hash: "h1", name: "ci", expiresAt: null });
        await Bun.sleep(5);
        const second = await store.createKey({ userId: u.id, keyId: "k2", hash: "h2", name: null, expiresAt: new Date(Date.UTC(2031, 1, 2)) });
        await Bun.sleep(5);
        const third = await store.createKey({ userId: other.id, keyId: "k3", hash: "h3", name: null, expiresAt: null });
        expect(first).toMatchObject({ keyId: "k1", userId: u.id, hash: "h1", name: "ci", revokedAt: null, lastUsedAt: null });
        expect(await store.findKey("k2")).toEqual(second);
        expect(await store.findKey("nope")).toBeNull();
        expect(await store.listKeys(u.id)).toEqual([second, first]);
        expect(await store.listKeys()).toEqual([third, second, first]);

        await expectStoreError(store.createKey({ userId: other.id, keyId: "k1", hash: "x", name: null, expiresAt: null }), "duplicate");
        await expectStoreError(store.createKey({ userId: crypto.randomUUID(), keyId: "k9", hash: "x", name: null, expiresAt: null }), "not_found");
        expect(await store.listKeys()).toHaveLength(3);

        const revokedAt = new Date(Date.UTC(2026, 3, 1, 12));
        await store.revokeKey("k1", revokedAt);
        await store.revokeKey("k1", new Date(Date.UTC(2027, 0, 1)));
        expect((await store.findKey("k1"))?.revokedAt).toEqual(revokedAt);
        await expectStoreError(store.revokeKey("nope", revokedAt), "not_found");

        const expiry = new Date(Date.UTC(2026, 5, 1, 0, 0, 0, 123));
        await store.setKeyExpiry("k1", expiry);
        expect((await store.findKey("k1"))?.expiresAt).toEqual(expiry);
        await store.setKeyExpiry("k2", null);
        expect((await store.findKey("k2"))?.expiresAt).toBeNull();
        await expectStoreError(store.setKeyExpiry("nope", null), "not_found");

        const later = new Date(Date.UTC(2026, 4, 1, 1, 1, 1, 1));
        await store.touchKeys(new Map([["k1", later], ["k3", later], ["unknown", later]]));
        await store.touchKeys(new Map([["k1", new Date(Date.UTC(2026, 0, 1))]]));
        expect((await store.findKey("k1"))?.lastUsedAt).toEqual(later);
        expect((await store.findKey("k3"))?.lastUsedAt).toEqual(later);
        expect((await store.findKey("k2"))?.lastUsedAt).toBeNull();
      });

      it("loads a principal with its user, limits and allowlist", async () => {
        const { bob, alice } = await populate(store);
        expect(await store.loadPrincipal("nope")).toBeNull();
        const principal = await store.loadPrincipal("bobkey");
        expect(principal).toEqual({
          user: { ...bob, disabled: true },
          key: await store.findKey("bobkey"),
          limits: { requestsHourly: 100, requestsDaily: null, tokensHourly: null, tokensDaily: 5_000_000_000, concurrency: 2 },
          models: ["llama3", "qwen2.5:7b"],
        });
        const admin = await store.loadPrincipal("alicekey");
        expect(admin).toMatchObject({ user: alice, limits: null, models: null });
        expect(admin?.key.lastUsedAt).toEqual(new Date(Date.UTC(2026, 0, 6, 1, 2, 3, 456)));
      });

      it("sets limits field by field, clears them, and refuses unknown users", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        expect(await store.getLimits(u.id)).toBeNull();
        const one = await store.setLimits(u.id, { requestsHourly: 10 });
        expect(one).toEqual({ requestsHourly: 10, requestsDaily: null, tokensHourly: null, tokensDaily: null, concurrency: null });
        const two = await store.setLimits(u.id, { requestsHourly: undefined, tokensDaily: 3_000_000_000, concurrency: 4 });
        expect(two).toEqual({ requestsHourly: 10, requestsDaily: null, tokensHourly: null, tokensDaily: 3_000_000_000, concurrency: 4 });
        const three = await store.setLimits(u.id, { concurrency: null });
        expect(three.concurrency).toBeNull();
        expect(await store.getLimits(u.id)).toEqual(three);
        await store.clearLimits(u.id);
        expect(await store.getLimits(u.id)).toBeNull();
        await expectStoreError(store.setLimits(crypto.randomUUID(), { requestsDaily: 1 }), "not_found");
        await expectStoreError(store.clearLimits(crypto.randomUUID()), "not_found");
      });

      it("keeps an allowlist, or none; refuses an empty one and unknown users", async () => {
        const u = await store.createUser({ name: "u", role: "user" });
        expect(await store.getModels(u.id)).toBeNull();
        await store.setModels(u.id, ["qwen2.5:7b", "llama3", "llama3"]);
        expect(await store.getModels(u.id)).toEqual(["llama3", "qwen2.5:7b"]);
        await store.setModels(u.id, ["mistral"]);
        expect(await store.getModels(u.id)).toEqual(["mistral"]);
        await expect(store.setModels(u.id, [])).rejects.toThrow(RangeError);
        expect(await store.getModels(u.id)).toEqual(["mistral"]);
        await store.setModels(u.id, null);
        expect(await store.getModels(u.id)).toBeNull();
        await expectStoreError(store.setModels(crypto.randomUUID(), ["x"]), "not_found");
      });

      it("bumps the revision on every admin mutation and only then", async () => {
        const seen = [await store.revision()];
        const step = async (change: () => Promise<unknown>) => {
          await change();
          seen.push(await store.revision());
        };
        const u = await store.createUser({ name: "u", role: "user" });
        seen.push(await store.revision());
        await step(() => store.setUserDisabled(u.id, true));
        await step(() => store.setUserDisabled(u.id, false));
        await step(() => store.createKey({ userId: u.id, keyId: "k", hash: "h", name: null, expiresAt: null }));
        await step(() => store.setKeyExpiry("k", new Date()));
        await step(() => store.revokeKey("k", new Date()));
        await step(() => store.setLimits(u.id, { requestsDaily: 5 }));
        await step(() => store.clearLimits(u.id));
        await step(() => store.setModels(u.id, ["m"]));
        await step(() => store.setModels(u.id, null));
        await step(() => store.deleteUser(u.id));
        for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);

        const quiet = await store.revision();
        await store.insertUsage([usageRow({ id: null, name: "gone" })]);
        await store.touchKeys(new Map([["k", new Date()]]));
        await store.pruneUsage(new Date(0));
        await expectStoreError(store.deleteUser(u.id), "not_found");
        expect(await store.revision()).toBe(quiet);
      });

      it("reports usage by every grouping, from rollups and from raw rows alike", async () => {
        const { usage } = await populate(store);
        const queries: ReportQuery[] = [
          { by: [] },
          { by: ["user", "model"] },
          { by: ["model"] },
          { by: ["endpoint", "user"] },
          { by: ["day"] },
          { by: ["hour", "model"] },
          { by: ["user"], since: new Date(USAGE_START + HOUR), until: new Date(USAGE_START + 4 * HOUR) },
          { by: ["user"], since: new Date(USAGE_START + HOUR + 1), until: new Date(USAGE_START + 4 * HOUR - 1) },
          { by: ["model"], user: "bob" },
          { by: ["user", "day"], model: "qwen2.5:7b" },
        ];
        for (const query of queries) expect(await store.report(query), JSON.stringify(query)).toEqual(expectedReport(usage, query));

        const byUserModel = await store.report({ by: ["user", "model"] });
        expect(Object.keys(byUserModel[0]!)).toEqual(["user", "model", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "errors"]);
        // since 0 is a whole hour (rollups), since 1 ms is not (raw rows): both must agree.
        for (const by of [["user", "model"], ["hour", "endpoint"]] as const) {
          expect(await store.report({ by: [...by], since: new Date(0) })).toEqual(await store.report({ by: [...by], since: new Date(1) }));
        }
        expect(await store.report({ by: ["user"], user: "nobody" })).toEqual([]);
      });

      it("prunes raw rows older than a time and keeps the rollups", async () => {
        const { usage } = await populate(store);
        const cut = new Date(USAGE_START + 3 * HOUR);
        const older = usage.filter((r) => r.at < cut).length;
        const total = await store.report({ by: ["user", "model"] });
        expect(await store.pruneUsage(cut)).toBe(older);
        expect((await store.dump()).usage).toHaveLength(usage.length - older);
        expect(await store.report({ by: ["user", "model"] })).toEqual(total);
        expect(await store.report({ by: [], since: new Date(1) })).toEqual(expectedReport(usage.filter((r) => r.at >= cut), { by: [] }));
        expect(await store.pruneUsage(cut)).toBe(0);
      });

      it("writes none of a batch when one row fails", async () => {
        const { alice, usage } = await populate(store);
        const before = await store.dump();
        const fresh = usageRow(alice);
        await expectStoreError(store.insertUsage([fresh, usageRow(alice), { ...fresh }]), "duplicate");
        await expectStoreError(store.insertUsage([usageRow(alice), { ...usage[3]! }]), "duplicate");
        expect(contents(await store.dump())).toEqual(contents(before));
        await store.insertUsage([]);
      });

      it("dumps everything and restores it into an empty store of the same driver", async () => {
        await populate(store);
        const dump = await store.dump();
        expect([dump.users.length, dump.keys.length, dump.limits.length, dump.models.length, dump.usage.length]).toEqual([2, 3, 1, 2, 60]);
        expect(dump.rollups.reduce((n, r) => n + r.requests, 0)).toBe(60);
        expect(dump.rollups.length).toBeLessThan(dump.usage.length);
        const target = await another();
        const revision = await target.revision();
        await target.restore(dump, { force: false });
        expect(contents(await target.dump())).toEqual(contents(dump));
        expect(await target.revision()).toBeGreaterThan(revision);
        expect(await target.loadPrincipal("bobkey")).toEqual(await store.loadPrincipal("bobkey"));
      });

      it("refuses to restore into a store with data unless forced, then replaces everything", async () => {
        await populate(store);
        const dump = await store.dump();
        const target = await another();
        await target.createUser({ name: "squatter", role: "admin" });
        await expectStoreError(target.restore(dump, { force: false }), "not_empty");
        expect((await target.listUsers()).map((u) => u.name)).toEqual(["squatter"]);
        await target.restore(dump, { force: true });
        expect(contents(await target.dump())).toEqual(contents(dump));
        const wrong = { ...dump, version: 2 } as unknown as Dump;
        await expect(target.restore(wrong, { force: true })).rejects.toThrow(BackupError);
      });
    });
  });
}
