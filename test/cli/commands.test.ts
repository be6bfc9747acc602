/** The admin commands as processes against each driver: what they print (--json parsed and checked) and what they store. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { parseKey, verifySecret } from "../../src/keys/key.ts";
import { runCli } from "../support/cli.ts";
import { DRIVERS, openTarget, type Target } from "./support.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HOUR = 3_600_000;

test("--version prints the package version; --help lists every command", async () => {
  const version = await runCli(["--version"], {});
  expect(version).toMatchObject({ code: 0, stdout: `parallama ${packageJson.version}\n` });
  const help = await runCli(["--help"], {});
  expect(help.code).toBe(0);
  for (const command of ["serve", "user create", "user list", "user show", "user disable", "user enable", "user delete", "key create", "key list", "key revoke", "key rotate", "limits set", "limits show", "limits clear", "models set", "models show", "usage report", "backup", "restore", "migrate"]) {
    expect(help.stdout).toContain(`  ${command} `);
  }
  expect((await runCli(["key", "rotate", "--help"], {})).stdout).toContain("--grace <duration>");
});

describe.each(DRIVERS)("commands on %s", (driver) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(driver);
  });
  afterAll(() => t?.close());

  test("migrate applies every migration to a fresh store, then has nothing to do", async () => {
    const first = await t.json("migrate");
    expect(first.driver).toBe(driver);
    expect(first.applied.length).toBeGreaterThan(0);
    expect(await t.json("migrate")).toEqual({ driver, applied: [] });
    expect((await t.cli("migrate")).stdout).toBe(`${driver} schema is up to date\n`);
  });

  test("user create, list, show, disable, enable", async () => {
    const admin = await t.json("user", "create", "root@example.org", "--admin");
    expect(admin).toEqual({ id: expect.any(String), name: "root@example.org", role: "admin", disabled: false, created_at: expect.stringMatching(ISO) });
    const user = await t.json("user", "create", "ann.lee_2");
    expect(user).toMatchObject({ name: "ann.lee_2", role: "user", disabled: false });

    const list = await t.json("user", "list");
    expect(list.map((u: any) => [u.name, u.role])).toEqual(expect.arrayContaining([["root@example.org", "admin"], ["ann.lee_2", "user"]]));
    const table = await t.cli("user", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+ROLE\s+STATUS\s+CREATED$/);
    expect(table.stdout).toMatch(/ann\.lee_2\s+user\s+enabled/);

    expect(await t.json("user", "disable", "ann.lee_2")).toMatchObject({ name: "ann.lee_2", disabled: true });
    expect(await t.json("user", "show", "ann.lee_2")).toMatchObject({ id: user.id, disabled: true, keys: [], limits: null, models: null });
    expect((await t.cli("user", "show", "ann.lee_2")).stdout).toMatch(/status:\s+disabled/);
    expect(await t.json("user", "enable", "ann.lee_2")).toMatchObject({ disabled: false });
    expect(await t.json("user", "show", "ann.lee_2")).toMatchObject({ disabled: false });
  });

  test("key create prints the key once, stores only its hash, and lists it", async () => {
    await t.json("user", "create", "kim");
    const before = Date.now();
    const created = await t.json("key", "create", "kim", "--name", "laptop", "--expires", "30d");
    expect(Object.keys(created).sort()).toEqual(["expires_at", "id", "key", "name", "user"]);
    expect(created).toMatchObject({ user: "kim", name: "laptop" });
    expect(parseKey(created.key)).toEqual({ keyId: created.id, secret: expect.any(String) });
    const expires = Date.parse(created.expires_at);
    expect(expires - before).toBeGreaterThanOrEqual(30 * 24 * HOUR - 1000);
    expect(expires - Date.now()).toBeLessThanOrEqual(30 * 24 * HOUR);

    const stored = await t.withStore((store) => store.findKey(created.id));
    expect(stored!.hash).toMatch(/^\$argon2id\$/);
    expect(stored!.hash).not.toContain(parseKey(created.key)!.secret);
    expect(await verifySecret(stored!.hash, parseKey(created.key)!.secret)).toBe(true);

    const human = await t.cli("key", "create", "kim");
    expect(human.stdout).toMatch(/^key:\s+plm_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}$/m);
    expect(human.stdout).toContain("not shown again");

    const listed = await t.json("key", "list", "kim");
    expect(listed).toHaveLength(2);
    const laptop = listed.find((k: any) => k.id === created.id);
    expect(laptop).toEqual({ id: created.id, user: "kim", name: "laptop", status: "active", created_at: expect.stringMatching(ISO), expires_at: created.expires_at, revoked_at: null, last_used_at: null });
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect((await t.json("key", "list")).length).toBeGreaterThanOrEqual(2);
    expect((await t.cli("key", "list", "kim")).stdout).not.toContain("plm_");
  });

  test("key revoke, twice", async () => {
    await t.json("user", "create", "rex");
    const { id } = await t.json("key", "create", "rex");
    const revoked = await t.json("key", "revoke", id);
    expect(revoked).toMatchObject({ id, user: "rex", status: "revoked", revoked_at: expect.stringMatching(ISO) });
    const again = await t.cli("key", "revoke", id);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`key ${id} was already revoked at`);
    expect((await t.json("key", "list", "rex"))[0].revoked_at).toBe(revoked.revoked_at);
  });

  test("key rotate: a new key for the same user and name; the old one lasts the grace period", async () => {
    await t.json("user", "create", "rot");
    const old = await t.json("key", "create", "rot", "--name", "ci");
    const before = Date.now();
    const rotated = await t.json("key", "rotate", old.id, "--grace", "2h");
    expect(rotated).toMatchObject({ user: "rot", name: "ci", expires_at: null, replaces: old.id });
    expect(rotated.id).not.toBe(old.id);
    const oldEnd = Date.parse(rotated.old_expires_at);
    expect(oldEnd).toBeGreaterThanOrEqual(before + 2 * HOUR - 1000);
    expect(oldEnd).toBeLessThanOrEqual(Date.now() + 2 * HOUR);

    const keys = await t.json("key", "list", "rot");
    const byId = new Map(keys.map((k: any) => [k.id, k]));
    expect(byId.get(old.id)).toMatchObject({ status: "active", expires_at: rotated.old_expires_at, revoked_at: null });
    expect(byId.get(rotated.id)).toMatchObject({ status: "active", name: "ci", expires_at: null });
    const stored = await t.withStore((store) => store.findKey(rotated.id));
    expect(await verifySecret(stored!.hash, parseKey(rotated.key)!.secret)).toBe(true);

    // The default grace is 24 hours.
    const third = await t.json("key", "rotate", rotated.id);
    expect(Date.parse(third.old_expires_at) - Date.now()).toBeGreaterThan(23.9 * HOUR);

    // Grace 0 revokes the old key at once.
    const fourth = await t.json("key", "rotate", third.id, "--grace", "0");
    expect((await t.json("key", "list", "rot")).find((k: any) => k.id === third.id)).toMatchObject({ status: "revoked" });
    expect(fourth.name).toBe("ci");
  });

  test("key rotate never lengthens the old key's life", async () => {
    await t.json("user", "create", "short");
    const old = await t.json("key", "create", "short", "--expires", "10m");
    const rotated = await t.json("key", "rotate", old.id, "--grace", "24h", "--expires", "7d");
    expect(rotated.old_expires_at).toBe(old.expires_at);
    expect(Date.parse(rotated.expires_at) - Date.now()).toBeGreaterThan(7 * 24 * HOUR - 60_000);
  });

  test("limits set, show, clear; none clears one window", async () => {
    await t.json("user", "create", "lim");
    expect(await t.json("limits", "show", "lim")).toEqual({ user: "lim", source: "default", requests_hourly: null, requests_daily: null, tokens_hourly: null, tokens_daily: null, concurrency: null });
    const set = await t.json("limits", "set", "lim", "--requests-hourly", "100", "--requests-daily=1000", "--tokens-hourly", "0", "--tokens-daily", "9000000000", "--concurrency", "2");
    expect(set).toEqual({ user: "lim", source: "user", requests_hourly: 100, requests_daily: 1000, tokens_hourly: 0, tokens_daily: 9_000_000_000, concurrency: 2 });
    const partial = await t.json("limits", "set", "lim", "--requests-daily", "none", "--concurrency", "3");
    expect(partial).toEqual({ ...set, requests_daily: null, concurrency: 3 });
    expect(await t.json("limits", "show", "lim")).toEqual(partial);
    expect(await t.withStore(async (s) => s.getLimits((await s.findUser("lim"))!.id))).toEqual({ requestsHourly: 100, requestsDaily: null, tokensHourly: 0, tokensDaily: 9_000_000_000, concurrency: 3 });
    expect((await t.cli("limits", "show", "lim")).stdout).toMatch(/requests per hour\s+100\n.*requests per day\s+unlimited/s);
    expect(await t.json("limits", "clear", "lim")).toMatchObject({ source: "default", requests_hourly: null });
    expect(await t.withStore(async (s) => s.getLimits((await s.findUser("lim"))!.id))).toBeNull();
  });

  test("models set and show; --all removes the allowlist", async () => {
    await t.json("user", "create", "mod");
    expect(await t.json("models", "show", "mod")).toEqual({ user: "mod", models: null });
    const set = await t.json("models", "set", "mod", "llama3.2:3b", "hf.co/org/repo:Q4_K_M", "llama3.2:3b");
    expect(set).toEqual({ user: "mod", models: ["llama3.2:3b", "hf.co/org/repo:Q4_K_M"] });
    expect((await t.json("models", "show", "mod")).models.sort()).toEqual(["hf.co/org/repo:Q4_K_M", "llama3.2:3b"]);
    expect((await t.json("user", "show", "mod")).models.sort()).toEqual(["hf.co/org/repo:Q4_K_M", "llama3.2:3b"]);
    expect(await t.json("models", "set", "mod", "--all")).toEqual({ user: "mod", models: null });
    expect((await t.cli("models", "show", "mod")).stdout).toBe("mod may use every model\n");
  });

  test("user delete removes keys, limits and allowlist; the name can be reused", async () => {
    await t.json("user", "create", "gone");
    const key = await t.json("key", "create", "gone");
    await t.json("limits", "set", "gone", "--concurrency", "1");
    await t.json("models", "set", "gone", "llama3");
    expect(await t.json("user", "delete", "gone")).toMatchObject({ name: "gone", deleted_keys: 1 });
    expect((await t.json("user", "list")).map((u: any) => u.name)).not.toContain("gone");
    expect(await t.withStore((s) => s.findKey(key.id))).toBeNull();
    expect(await t.json("user", "create", "gone")).toMatchObject({ name: "gone" });
    expect(await t.json("key", "list", "gone")).toEqual([]);
  });
});
