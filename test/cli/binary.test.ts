/**
 * The compiled binary (built once per run by test/support/global-setup.ts), copied away from the
 * repository and run with an empty environment: no node_modules, no Bun, no PATH. Both drivers.
 */
import { copyFileSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { parseKey, verifySecret } from "../../src/keys/key.ts";
import { runCommand } from "../support/cli.ts";
import { tempDir } from "../support/tmp.ts";
import { DRIVERS, openTarget, type Target } from "./support.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BUILT = join(ROOT, "dist/parallama");
const PLATFORM = `${process.platform}-${process.arch}-gnu`;
const ADDON = join(ROOT, `node_modules/@node-rs/argon2-${PLATFORM}/argon2.${PLATFORM}.node`);

const dir = tempDir("parallama-bin-");
const BINARY = join(dir.path, "parallama");
afterAll(() => dir.remove());

beforeAll(() => {
  copyFileSync(BUILT, BINARY);
});

const run = (args: string[], env: Record<string, string>) => runCommand([BINARY, ...args], env, dir.path);

test("the binary carries argon2's native addon inside it", () => {
  // A 4 KiB slice from the middle of the addon, found in the binary: the .node file was embedded, not left behind on disk.
  const addon = readFileSync(ADDON);
  const probe = addon.subarray(addon.length >> 1, (addon.length >> 1) + 4096);
  expect(readFileSync(BINARY).indexOf(probe)).toBeGreaterThan(0);
  expect(statSync(BINARY).mode & 0o111).not.toBe(0);
});

test("--version and a bad command, with an empty environment", async () => {
  expect(await run(["--version"], {})).toEqual({ code: 0, stdout: `parallama ${packageJson.version}\n`, stderr: "" });
  const bad = await run(["frobnicate"], {});
  expect(bad).toEqual({ code: 2, stdout: "", stderr: 'parallama: unknown command "frobnicate"\n' });
});

describe.each(DRIVERS)("the binary on %s", (driver) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(driver);
  });
  afterAll(() => t?.close());

  const json = async (...args: string[]) => {
    const r = await run([...args, "--json"], t.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  test("user create, key create, limits set, list with --json", async () => {
    const user = await json("user", "create", "erin");
    expect(user).toMatchObject({ name: "erin", role: "user", disabled: false });

    const created = await json("key", "create", "erin", "--name", "bin", "--expires", "7d");
    expect(created).toMatchObject({ user: "erin", name: "bin", id: parseKey(created.key)!.keyId });
    // The hash was made by argon2 inside the binary; the library in this process verifies it.
    const stored = await t.withStore((store) => store.findKey(created.id));
    expect(await verifySecret(stored!.hash, parseKey(created.key)!.secret)).toBe(true);

    expect(await json("limits", "set", "erin", "--requests-hourly", "60", "--concurrency", "1")).toMatchObject({ user: "erin", source: "user", requests_hourly: 60, concurrency: 1 });

    expect((await json("user", "list")).map((u: any) => u.name)).toEqual(["erin"]);
    expect(await json("key", "list")).toEqual([expect.objectContaining({ id: created.id, user: "erin", name: "bin", status: "active" })]);
    expect(await json("limits", "show", "erin")).toMatchObject({ requests_hourly: 60, requests_daily: null, concurrency: 1 });
  });
});
