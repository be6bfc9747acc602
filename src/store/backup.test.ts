import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { populate } from "../../test/contract/store-fixtures.ts";
import { tempDir } from "../../test/support/tmp.ts";
import { BackupError, readBackup, writeBackup } from "./backup.ts";
import { openStore } from "./open.ts";
import type { Store } from "./store.ts";

describe("backup files", () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;

  beforeEach(async () => {
    dir = tempDir();
    store = await openStore({ driver: "sqlite", path: join(dir.path, "source.db") });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it("round-trips a dump through a file readable only by its owner, Dates revived", async () => {
    await populate(store);
    const file = join(dir.path, "backup.jsonl");
    const counts = await writeBackup(store, file);
    expect(counts).toEqual({ users: 2, keys: 3, limits: 1, models: 2, usage: 60, rollups: expect.any(Number) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const read = await readBackup(file);
    const { createdAt: _, ...fromStore } = await store.dump();
    expect(read).toMatchObject(fromStore);
    expect(read.usage[0]!.at).toBeInstanceOf(Date);
    expect(read.keys.find((k) => k.keyId === "bobold")!.revokedAt).toEqual(new Date(Date.UTC(2026, 0, 2)));
  });

  async function errorFor(content: string): Promise<string> {
    const file = join(dir.path, "bad.jsonl");
    writeFileSync(file, content);
    const error = await readBackup(file).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    return (error as Error).message;
  }

  it("names a file that is not a backup, or another version", async () => {
    expect(await errorFor("hello\n")).toMatch(/bad\.jsonl is not a Parallama backup$/);
    expect(await errorFor('{"format":"something-else","version":1}\n')).toMatch(/is not a Parallama backup$/);
    expect(await errorFor('{"format":"parallama-backup","version":7,"counts":{}}\n')).toMatch(/is backup version 7; this Parallama reads version 1$/);
    expect(await errorFor("")).toMatch(/is empty/);
  });

  it("refuses a truncated file and a malformed row, naming the line", async () => {
    await populate(store);
    const file = join(dir.path, "backup.jsonl");
    await writeBackup(store, file);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(await errorFor(lines.slice(0, -1).join("\n"))).toMatch(/is incomplete: the header promises \d+ rollups rows, the file holds \d+/);
    const broken = [...lines];
    broken[3] = '{"table":"users","row":{"createdAt":"yesterday"}}';
    expect(await errorFor(broken.join("\n"))).toMatch(/bad\.jsonl:4: users\.createdAt is not a date/);
    broken[3] = "{not json";
    expect(await errorFor(broken.join("\n"))).toMatch(/bad\.jsonl:4: not a JSON line/);
  });

  it("says which file cannot be read", async () => {
    const missing = join(dir.path, "absent.jsonl");
    await expect(readBackup(missing)).rejects.toThrow(`cannot read backup ${missing}`);
  });
});
