/** `backup` and `restore` through the CLI: SQLite to PostgreSQL and back, every row equal, keys still verify. */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseKey, verifySecret } from "../../src/keys/key.ts";
import { expectFailure, openTarget, snapshot, type Target } from "./support.ts";

/** A store with something in every table: users of both roles, live and revoked keys, limits, an allowlist, usage. */
async function populate(t: Target): Promise<string> {
  await t.json("user", "create", "root", "--admin");
  await t.json("user", "create", "bob");
  const { key } = await t.json("key", "create", "bob", "--name", "laptop", "--expires", "30d");
  const { id: revoked } = await t.json("key", "create", "root");
  await t.json("key", "revoke", revoked);
  await t.json("user", "disable", "root");
  await t.json("limits", "set", "bob", "--requests-hourly", "50", "--tokens-daily", "100000");
  await t.json("models", "set", "bob", "llama3", "qwen2.5:7b");
  await t.withStore(async (store) => {
    const bob = (await store.findUser("bob"))!;
    const at = Date.now() - 5 * 3_600_000;
    await store.insertUsage(
      Array.from({ length: 25 }, (_, i) => ({
        id: crypto.randomUUID(),
        at: new Date(at + i * 600_000),
        userId: bob.id,
        userName: bob.name,
        keyId: parseKey(key)!.keyId,
        method: "POST",
        endpoint: i % 2 ? "/api/chat" : "/v1/chat/completions",
        model: i % 3 ? "llama3" : "qwen2.5:7b",
        promptTokens: i,
        completionTokens: 2 * i,
        durationMs: 10.5 + i,
        status: i % 5 ? 200 : 500,
      })),
    );
  });
  return key;
}

/** Moves a store through a backup file into an empty store of the other driver. */
describe.each([
  ["sqlite", "postgres"],
  ["postgres", "sqlite"],
] as const)("backup from %s, restore into %s", (from, to) => {
  let source: Target;
  let target: Target;
  let key: string;
  let file: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([openTarget(from), openTarget(to)]);
    key = await populate(source);
    file = join(source.dir, "parallama.backup");
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  test("backup writes a private file and reports what it holds", async () => {
    const out = await source.json("backup", file);
    expect(out).toEqual({ file, driver: from, counts: { users: 2, keys: 2, limits: 1, models: 2, usage: 25, rollups: expect.any(Number) } });
    expect(out.counts.rollups).toBeGreaterThan(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("restore into an empty store of the other driver: every row equal, the key still verifies", async () => {
    const out = await target.json("restore", file);
    expect(out.driver).toBe(to);
    const [a, b] = await Promise.all([snapshot(source), snapshot(target)]);
    expect({ ...b, revision: 0 }).toEqual({ ...a, revision: 0 });

    const { keyId, secret } = parseKey(key)!;
    const restored = await target.withStore((store) => store.findKey(keyId));
    expect(await verifySecret(restored!.hash, secret)).toBe(true);
    // The report reads the same from the restored store.
    expect(await target.json("usage", "report", "--by", "user,model,endpoint")).toEqual(await source.json("usage", "report", "--by", "user,model,endpoint"));
  });

  test("a second restore is refused, changes nothing; --force replaces everything", async () => {
    await target.json("user", "create", "extra");
    const before = await snapshot(target);
    expect(expectFailure(await target.cli("restore", file), 1)).toMatch(/already has data/);
    expect(await snapshot(target)).toEqual(before);

    const forced = await target.cli("restore", file, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^restored .* into ${to}: 2 users, 2 keys`));
    const [a, b] = await Promise.all([snapshot(source), snapshot(target)]);
    expect({ ...b, revision: 0 }).toEqual({ ...a, revision: 0 });
  });
});
