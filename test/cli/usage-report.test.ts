/** `usage report` on rows written straight into the store: groups, filters and the three formats. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { UsageRecord, User } from "../../src/store/store.ts";
import { DRIVERS, openTarget, type Target } from "./support.ts";

const HOUR = 3_600_000;
const HEADER = "user,model,requests,prompt_tokens,completion_tokens,total_tokens,errors";

function row(user: User, at: number, model: string | null, prompt: number, completion: number, status = 200): UsageRecord {
  return { id: crypto.randomUUID(), at: new Date(at), userId: user.id, userName: user.name, keyId: null, method: "POST", endpoint: "/api/chat", model, promptTokens: prompt, completionTokens: completion, durationMs: 5, status };
}

const byUserModel = (a: any, b: any) => `${a.user}/${a.model}`.localeCompare(`${b.user}/${b.model}`);

describe.each(DRIVERS)("usage report on %s", (driver) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(driver);
    await t.json("user", "create", "alice");
    await t.json("user", "create", "bob");
    const now = Date.now();
    await t.withStore(async (store) => {
      const alice = (await store.findUser("alice"))!;
      const bob = (await store.findUser("bob"))!;
      await store.insertUsage([
        row(alice, now - HOUR, "llama3", 10, 20),
        row(alice, now - HOUR, "llama3", 5, 7),
        row(alice, now - HOUR, "llama3", 1, 0, 500),
        row(alice, now - HOUR, "qwen2.5:7b", 100, 50),
        row(bob, now - 2 * HOUR, "llama3", 3, 4),
        row(bob, now - 2 * HOUR, "llama3", 0, 0, 499),
        row(bob, now - HOUR, null, 0, 0, 401),
        row(alice, now - 72 * HOUR, "llama3", 1000, 1000), // outside --since 24h
      ]);
    });
  });
  afterAll(() => t?.close());

  const all = [
    { user: "alice", model: "llama3", requests: 4, prompt_tokens: 1016, completion_tokens: 1027, total_tokens: 2043, errors: 1 },
    { user: "alice", model: "qwen2.5:7b", requests: 1, prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, errors: 0 },
    { user: "bob", model: "llama3", requests: 2, prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, errors: 1 },
    { user: "bob", model: null, requests: 1, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, errors: 1 },
  ];

  test("--by user,model --format json: the rows, exactly", async () => {
    const rows = await t.json("usage", "report", "--by", "user,model", "--format", "json");
    expect([...rows].sort(byUserModel)).toEqual(all);
    // user,model is the default grouping, and --json means --format json.
    expect([...(await t.json("usage", "report"))].sort(byUserModel)).toEqual(all);
  });

  test("--since as a duration ago, --until as an ISO time", async () => {
    const recent = await t.json("usage", "report", "--since", "24h");
    expect(recent.find((r: any) => r.user === "alice" && r.model === "llama3")).toEqual({ ...all[0], requests: 3, prompt_tokens: 16, completion_tokens: 27, total_tokens: 43 });
    const old = await t.json("usage", "report", "--until", new Date(Date.now() - 24 * HOUR).toISOString());
    expect(old).toEqual([{ user: "alice", model: "llama3", requests: 1, prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000, errors: 0 }]);
    expect(await t.json("usage", "report", "--since", "2000-01-01", "--until", "2000-01-02")).toEqual([]);
  });

  test("--user and --model filters; other groupings", async () => {
    const bob = await t.json("usage", "report", "--user", "bob", "--by", "model");
    expect([...bob].sort((a: any, b: any) => String(a.model).localeCompare(String(b.model)))).toEqual([
      { model: "llama3", requests: 2, prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, errors: 1 },
      { model: null, requests: 1, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, errors: 1 },
    ]);
    expect(await t.json("usage", "report", "--model", "qwen2.5:7b")).toEqual([all[1]]);
    const byUser = await t.json("usage", "report", "--by", "user");
    expect(byUser.find((r: any) => r.user === "alice")).toEqual({ user: "alice", requests: 5, prompt_tokens: 1116, completion_tokens: 1077, total_tokens: 2193, errors: 1 });
    const byDay = await t.json("usage", "report", "--by", "day", "--since", "24h");
    expect(byDay.reduce((sum: number, r: any) => sum + r.requests, 0)).toBe(7);
    for (const r of byDay) expect(r.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test("--format csv: a header and one line per row, null as an empty field", async () => {
    const csv = await t.cli("usage", "report", "--by", "user,model", "--format", "csv");
    expect(csv.code).toBe(0);
    const [header, ...lines] = csv.stdout.trimEnd().split("\n");
    expect(header).toBe(HEADER);
    expect(lines.sort()).toEqual(["alice,llama3,4,1016,1027,2043,1", "alice,qwen2.5:7b,1,100,50,150,0", "bob,,1,0,0,0,1", "bob,llama3,2,3,4,7,1"]);
  });

  test("--format table (the default): aligned columns and a total", async () => {
    const table = await t.cli("usage", "report");
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^USER\s+MODEL\s+REQUESTS\s+PROMPT TOKENS\s+COMPLETION TOKENS\s+TOTAL TOKENS\s+ERRORS$/);
    expect(lines).toHaveLength(6);
    expect(lines.at(-1)).toMatch(/^TOTAL\s+8\s+1119\s+1081\s+2200\s+3$/);
    expect(table.stdout).toMatch(/^bob\s+-\s+1\s+0\s+0\s+0\s+1$/m);
  });
});
