import { appendFileSync, existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { usageRows } from "./fixtures.ts";
import { SpillFile } from "./spill-file.ts";

describe("spill file", () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  beforeEach(() => {
    dir = tempDir();
    path = join(dir.path, "usage.spill");
  });
  afterEach(() => dir.remove());

  it("gives rows back in order and in batches, with their dates, then removes the file", () => {
    const spill = new SpillFile(path);
    const rows = usageRows(5);
    spill.append(rows.slice(0, 3));
    spill.append(rows.slice(3));
    expect(spill.bytes).toBe(readFileSync(path).length);

    const first = spill.peek(2)!;
    expect(first.rows).toEqual(rows.slice(0, 2));
    expect(first.rows[0]!.at).toBeInstanceOf(Date);
    expect(spill.peek(2)!.rows).toEqual(rows.slice(0, 2)); // peek does not consume
    spill.consume(first.end);
    const rest = spill.peek(10)!;
    expect(rest.rows).toEqual(rows.slice(2));
    spill.consume(rest.end);

    expect(spill.bytes).toBe(0);
    expect(spill.peek(10)).toBeNull();
    expect(existsSync(path) || existsSync(`${path}.replay`)).toBe(false);
  });

  it("keeps rows appended during a replay for after it", () => {
    const spill = new SpillFile(path);
    const rows = usageRows(4);
    spill.append(rows.slice(0, 2));
    const batch = spill.peek(1)!;
    spill.append(rows.slice(2));
    spill.consume(batch.end);
    const seen = [];
    for (let b = spill.peek(1); b; b = spill.peek(1)) {
      seen.push(...b.rows);
      spill.consume(b.end);
    }
    expect(seen).toEqual(rows.slice(1));
  });

  it("replays what a previous process left, including a half-read replay file", () => {
    const rows = usageRows(6);
    const before = new SpillFile(path);
    before.append(rows.slice(0, 3));
    before.consume(before.peek(1)!.end); // crash after one stored batch: the replay file stays
    before.append(rows.slice(3));
    before.close();

    const after = new SpillFile(path);
    const seen = [];
    for (let b = after.peek(100); b; b = after.peek(100)) {
      seen.push(...b.rows);
      after.consume(b.end);
    }
    // from the top of the replay file: the recorder skips what was already stored
    expect(seen).toEqual(rows);
  });

  it("skips a line torn by a crash and counts it", () => {
    const rows = usageRows(2);
    const spill = new SpillFile(path);
    spill.append(rows);
    spill.close();
    appendFileSync(path, '{"id":"torn-mid-wri');
    const again = new SpillFile(path);
    const batch = again.peek(10)!;
    expect(batch.rows).toEqual(rows);
    expect(batch.skipped).toBe(1);
    again.consume(batch.end);
    expect(again.bytes).toBe(0);
  });

  it("reads lines longer than one read chunk", () => {
    const row = { ...usageRows(1)[0]!, userName: "x".repeat(600_000) };
    const spill = new SpillFile(path);
    spill.append([row, ...usageRows(1)]);
    spill.close();
    renameSync(path, `${path}.replay`);
    const batch = new SpillFile(path).peek(10)!;
    expect(batch.rows.map((r) => r.userName.length)).toEqual([600_000, 5]);
  });
});
