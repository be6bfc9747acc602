/** Data for the store contract: a populated store, a usage set, and the report computed from it independently. */
import type { ReportGroup, ReportQuery, ReportRow, Store, UsageRecord, User } from "../../src/store/store.ts";

/** 21:00 UTC, so the sample crosses midnight and spans several hours. */
export const USAGE_START = Date.UTC(2026, 0, 5, 21, 0, 0);

export function usageRow(user: { id: string | null; name: string }, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: crypto.randomUUID(),
    at: new Date(USAGE_START),
    userId: user.id,
    userName: user.name,
    keyId: null,
    method: "POST",
    endpoint: "/api/chat",
    model: "llama3",
    promptTokens: 10,
    completionTokens: 20,
    durationMs: 12.5,
    status: 200,
    ...overrides,
  };
}

/**
 * 60 rows, ten an hour, across two users, three models (one null), two endpoints, errors and a
 * client abort; neighbouring rows share user, model and endpoint so rollups sum several rows.
 */
export function sampleUsage(alice: User, bob: User): UsageRecord[] {
  return Array.from({ length: 60 }, (_, i) => {
    const user = (i >> 1) % 3 === 0 ? bob : alice;
    return usageRow(user, {
      at: new Date(USAGE_START + i * 6 * 60_000 + i * 1_000),
      keyId: user === bob ? "bobkey" : "alicekey",
      endpoint: (i >> 3) % 2 === 0 ? "/api/chat" : "/v1/chat/completions",
      model: i % 7 === 0 ? null : (i >> 2) % 2 === 0 ? "llama3" : "qwen2.5:7b",
      promptTokens: 10 + i,
      completionTokens: 2 * i,
      durationMs: 12.25 + i,
      status: i % 5 === 0 ? 500 : i % 11 === 0 ? 499 : i % 13 === 0 ? 404 : 200,
    });
  });
}

function groupValue(row: UsageRecord, group: ReportGroup): string | null {
  const iso = row.at.toISOString();
  switch (group) {
    case "user":
      return row.userName;
    case "model":
      return row.model;
    case "endpoint":
      return row.endpoint;
    case "day":
      return iso.slice(0, 10);
    case "hour":
      return `${iso.slice(0, 13)}:00:00.000Z`;
  }
}

/** The report a correct store must give, computed here from the rows themselves. */
export function expectedReport(rows: UsageRecord[], query: ReportQuery): ReportRow[] {
  const picked = rows.filter(
    (r) =>
      (!query.since || r.at >= query.since) &&
      (!query.until || r.at < query.until) &&
      (query.user === undefined || r.userName === query.user) &&
      (query.model === undefined || r.model === query.model),
  );
  const groups = new Map<string, ReportRow>();
  for (const r of picked) {
    const keys = query.by.map((g) => groupValue(r, g));
    const id = JSON.stringify(keys);
    const row = groups.get(id) ?? {
      ...Object.fromEntries(query.by.map((g, i) => [g, keys[i]])),
      requests: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      errors: 0,
    };
    row.requests += 1;
    row.prompt_tokens += r.promptTokens;
    row.completion_tokens += r.completionTokens;
    row.total_tokens += r.promptTokens + r.completionTokens;
    row.errors += r.status >= 400 ? 1 : 0;
    groups.set(id, row);
  }
  const sortKey = (row: ReportRow) => query.by.map((g) => row[g] ?? "");
  return [...groups.values()].sort((a, b) => {
    const [x, y] = [sortKey(a), sortKey(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? "") < (y[i] ?? "") ? -1 : 1;
    return 0;
  });
}

/** Fills a store with every kind of row; returns what it wrote. */
export async function populate(store: Store): Promise<{ alice: User; bob: User; usage: UsageRecord[] }> {
  const alice = await store.createUser({ name: "alice", role: "admin" });
  const bob = await store.createUser({ name: "bob", role: "user" });
  await store.createKey({ userId: alice.id, keyId: "alicekey", hash: "$argon2id$v=19$alice", name: "laptop", expiresAt: null });
  await store.createKey({ userId: bob.id, keyId: "bobkey", hash: "$argon2id$v=19$bob", name: null, expiresAt: new Date(Date.UTC(2030, 0, 1)) });
  await store.createKey({ userId: bob.id, keyId: "bobold", hash: "$argon2id$v=19$old", name: "old", expiresAt: null });
  await store.revokeKey("bobold", new Date(Date.UTC(2026, 0, 2)));
  await store.touchKeys(new Map([["alicekey", new Date(Date.UTC(2026, 0, 6, 1, 2, 3, 456))]]));
  await store.setLimits(bob.id, { requestsHourly: 100, tokensDaily: 5_000_000_000, concurrency: 2 });
  await store.setModels(bob.id, ["llama3", "qwen2.5:7b"]);
  await store.setUserDisabled(bob.id, true);
  const usage = sampleUsage(alice, bob);
  // Interleaved batches, so rollups from different batches meet on the same key.
  for (const k of [0, 1, 2]) await store.insertUsage(usage.filter((_, i) => i % 3 === k));
  return { alice, bob, usage };
}
