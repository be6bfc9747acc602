/**
 * Issue 2, "Bad input": every bad input is one line on stderr, a non-zero exit, and no write at
 * all (the whole store, revision counter included, is the same afterwards). Both drivers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "../support/cli.ts";
import { DRIVERS, expectFailure, openTarget, snapshot, type Target } from "./support.ts";

const USAGE = 2; // bad command line or config
const FAILED = 1; // well-formed, but cannot be done

describe.each(DRIVERS)("bad input on %s", (driver) => {
  let t: Target;
  let activeKey: string;
  let revokedKey: string;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    t = await openTarget(driver);
    await t.json("user", "create", "alice");
    activeKey = (await t.json("key", "create", "alice")).id;
    revokedKey = (await t.json("key", "create", "alice", "--name", "old")).id;
    await t.json("key", "revoke", revokedKey);
    await t.json("limits", "set", "alice", "--requests-hourly", "10");
    before = await snapshot(t);
  });
  afterAll(() => t?.close());

  const cases: Array<[string, () => string[], number, RegExp]> = [
    ["unknown user: key create", () => ["key", "create", "ghost"], FAILED, /unknown user "ghost"/],
    ["unknown user: user show", () => ["user", "show", "ghost"], FAILED, /unknown user/],
    ["unknown user: user disable", () => ["user", "disable", "ghost"], FAILED, /unknown user/],
    ["unknown user: user delete", () => ["user", "delete", "ghost"], FAILED, /unknown user/],
    ["unknown user: key list", () => ["key", "list", "ghost"], FAILED, /unknown user/],
    ["unknown user: limits set", () => ["limits", "set", "ghost", "--concurrency", "1"], FAILED, /unknown user/],
    ["unknown user: limits clear", () => ["limits", "clear", "ghost"], FAILED, /unknown user/],
    ["unknown user: models set", () => ["models", "set", "ghost", "llama3"], FAILED, /unknown user/],
    ["duplicate user name", () => ["user", "create", "alice"], FAILED, /"alice" already exists/],
    ["duplicate admin name", () => ["user", "create", "alice", "--admin"], FAILED, /already exists/],
    ["name with a space", () => ["user", "create", "bad name"], USAGE, /invalid user name "bad name"/],
    ["name with a tab", () => ["user", "create", "bad\tname"], USAGE, /invalid user name "bad\\tname"/],
    ["name with a newline", () => ["user", "create", "bad\nname"], USAGE, /invalid user name "bad\\nname"/],
    ["name with an escape", () => ["user", "create", "bad\x1b[31m"], USAGE, /invalid user name/],
    ["empty name", () => ["user", "create", ""], USAGE, /invalid user name ""/],
    ["name of 65 characters", () => ["user", "create", "a".repeat(65)], USAGE, /1-64 characters/],
    ["key label with a space", () => ["key", "create", "alice", "--name", "my laptop"], USAGE, /invalid key name/],
    ["negative limit", () => ["limits", "set", "alice", "--requests-hourly", "-5"], USAGE, /"-5" is not a limit/],
    ["negative limit with =", () => ["limits", "set", "alice", "--tokens-daily=-1"], USAGE, /"-1" is not a limit/],
    ["non-numeric limit", () => ["limits", "set", "alice", "--tokens-hourly", "lots"], USAGE, /"lots" is not a limit/],
    ["fractional limit", () => ["limits", "set", "alice", "--concurrency", "1.5"], USAGE, /"1.5" is not a limit/],
    ["request limit past 32 bits", () => ["limits", "set", "alice", "--requests-daily", "2147483648"], USAGE, /not a limit/],
    ["a good limit beside a bad one", () => ["limits", "set", "alice", "--requests-hourly", "5", "--concurrency", "x"], USAGE, /"x" is not a limit/],
    ["limit without a value", () => ["limits", "set", "alice", "--concurrency"], USAGE, /value is missing/],
    ["limits set without limits", () => ["limits", "set", "alice"], USAGE, /at least one of/],
    ["unknown key id: revoke", () => ["key", "revoke", "AAAAAAAAAAAA"], FAILED, /unknown key id "AAAAAAAAAAAA"/],
    ["unknown key id: rotate", () => ["key", "rotate", "AAAAAAAAAAAA"], FAILED, /unknown key id/],
    ["malformed key id", () => ["key", "revoke", "not-a-key"], USAGE, /invalid key id "not-a-key"/],
    ["rotating a revoked key", () => ["key", "rotate", revokedKey], FAILED, /is revoked/],
    ["unparseable --expires", () => ["key", "create", "alice", "--expires", "soon"], USAGE, /--expires: "soon" is not a duration/],
    ["--expires without a unit", () => ["key", "create", "alice", "--expires", "30"], USAGE, /not a duration/],
    ["zero --expires", () => ["key", "create", "alice", "--expires", "0s"], USAGE, /not a duration/],
    ["unparseable --grace", () => ["key", "rotate", activeKey, "--grace", "forever"], USAGE, /--grace: "forever" is not a duration/],
    ["unparseable --since", () => ["usage", "report", "--since", "yesterday"], USAGE, /--since: "yesterday" is not a time/],
    ["--since after --until", () => ["usage", "report", "--since", "2026-02-01", "--until", "2026-01-01"], USAGE, /after --until/],
    ["unknown report group", () => ["usage", "report", "--by", "user,colour"], USAGE, /unknown group "colour"/],
    ["unknown report format", () => ["usage", "report", "--format", "xml"], USAGE, /"xml" is not one of/],
    ["models set without models", () => ["models", "set", "alice"], USAGE, /at least one model/],
    ["models and --all", () => ["models", "set", "alice", "llama3", "--all"], USAGE, /not both/],
    ["model name with a space", () => ["models", "set", "alice", "llama 3"], USAGE, /invalid model name/],
    ["unknown option", () => ["user", "list", "--colour"], USAGE, /unknown option `--colour`/],
    ["unknown global option", () => ["--colour"], USAGE, /unknown option/],
    ["unknown command", () => ["frobnicate"], USAGE, /unknown command "frobnicate"/],
    ["unknown subcommand", () => ["user", "frobnicate", "x"], USAGE, /user: unknown subcommand "frobnicate"/],
    ["missing subcommand", () => ["key"], USAGE, /key: missing subcommand/],
    ["missing argument", () => ["user", "create"], USAGE, /missing required args/],
    ["extra argument", () => ["user", "create", "bob", "carol"], USAGE, /unused args/],
    ["serve on a port that is not a number", () => ["serve", "--port", "http"], USAGE, /--port: "http" is not a port/],
    ["missing config file", () => ["--config", "/nonexistent/parallama.yaml", "user", "list"], USAGE, /nonexistent/],
    ["restore of a missing file", () => ["restore", "/nonexistent/backup.jsonl"], FAILED, /nonexistent/],
  ];

  test.each(cases)("%s", async (_label, args, code, message) => {
    const line = expectFailure(await t.cli(...args()), code);
    expect(line).toMatch(message);
    expect(await snapshot(t)).toEqual(before);
  });

  test("a config file with an unknown key names it, exit 2", async () => {
    const file = join(t.dir, "bad.yaml");
    writeFileSync(file, "server:\n  colour: blue\n");
    expect(expectFailure(await t.cli("--config", file, "user", "create", "bob"), USAGE)).toMatch(/server\.colour/);
    expect(await snapshot(t)).toEqual(before);
  });

  test("restore into a store that has data, without --force", async () => {
    const file = join(t.dir, "self.backup");
    expect((await t.cli("backup", file)).code).toBe(0);
    expect(expectFailure(await t.cli("restore", file), FAILED)).toMatch(/already has data; restore --force/);
    expect(await snapshot(t)).toEqual(before);
  });

  test("a file that is not a backup is refused before the store is touched", async () => {
    const file = join(t.dir, "not-a-backup.jsonl");
    writeFileSync(file, '{"hello": "world"}\n');
    expect(expectFailure(await t.cli("restore", file, "--force"), FAILED)).toMatch(/not a Parallama backup/);
    expect(await snapshot(t)).toEqual(before);
  });
});

describe("an unreachable database", () => {
  const env = (url: string) => ({ PARALLAMA_CONFIG: "/dev/null", PARALLAMA_DATABASE_URL: url });

  test.each([
    ["postgres (connection refused)", "postgres://postgres@127.0.0.1:1/parallama"],
    ["postgres (no such database)", "postgres://postgres@127.0.0.1:5432/parallama_does_not_exist"],
    ["sqlite (directory cannot be made)", "sqlite:/dev/null/parallama.db"],
  ])("%s: one line, exit 1, fast", async (_label, url) => {
    const started = Date.now();
    const line = expectFailure(await runCli(["user", "create", "bob"], env(url)), FAILED);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(line).not.toMatch(/at \S+:\d+/); // a message, not a stack trace
  });
});
