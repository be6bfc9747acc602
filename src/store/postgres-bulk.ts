/**
 * Multi-row writes for PostgreSQL: each batch is one statement whose rows arrive as one JSON
 * parameter (jsonb_to_recordset), so quoting, NULLs and types are the server's job, not ours;
 * raw usage rows, written with every request, go by COPY instead.
 */
import type { SQL } from "bun";
import { rollupsOf } from "./report.ts";
import type { ApiKey, Dump, UsageRecord, UsageRollup, User } from "./store.ts";

/** Rows per statement when restoring: bounds the size of one JSON parameter. */
const CHUNK = 5_000;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/**
 * Raw usage rows, by COPY: PostgreSQL spends 5.4 us of CPU a row on it against 12.9 through
 * jsonb_to_recordset (1,024-row batches), and every request writes a row. A user that no longer
 * exists is stored as user_id NULL, as if deleted after the write. The rows' users are locked
 * first, once each, so none is deleted before this commits (deleteUser then sets these rows'
 * user_id to NULL): what the foreign key's per-row trigger did.
 */
export async function insertUsageRows(tx: SQL, rows: UsageRecord[]): Promise<void> {
  for (const chunk of chunks(rows)) {
    const live = await lockUsers(tx, chunk);
    const query = tx`COPY usage_logs (id, user_id, user_name, key_id, timestamp, method, endpoint, model_name,
      prompt_tokens, completion_tokens, request_duration, status_code) FROM STDIN`;
    const writer = query.writable().getWriter();
    const stored = query.execute();
    // A refused row fails the stream and the query alike, with the server's error: the query reports it.
    await Promise.allSettled([writer.write(copyText(chunk, live)), writer.close()]);
    await stored;
  }
}

/** Locks the rows' users that exist (FOR KEY SHARE) and returns their ids. */
async function lockUsers(tx: SQL, chunk: UsageRecord[]): Promise<Set<string>> {
  const users = [...new Set(chunk.map((r) => r.userId).filter((id) => id !== null))];
  if (users.length === 0) return new Set();
  const found: { id: string }[] =
    await tx`SELECT id FROM users WHERE id IN (SELECT jsonb_array_elements_text(${tx.json(users)}::jsonb)::uuid) FOR KEY SHARE`;
  return new Set(found.map((u) => u.id));
}

/** COPY's text format, in the statement's column order: a line a row, tab between columns, \N for NULL. */
function copyText(chunk: UsageRecord[], liveUsers: Set<string>): string {
  let text = "";
  for (const r of chunk) {
    const userId = r.userId !== null && liveUsers.has(r.userId.toLowerCase()) ? r.userId : null;
    text += `${copyField(r.id)}\t${copyField(userId)}\t${copyField(r.userName)}\t${copyField(r.keyId)}\t${copyTime(r.at)}\t${copyField(r.method)}\t${copyField(r.endpoint)}\t${copyField(r.model)}\t${r.promptTokens}\t${r.completionTokens}\t${r.durationMs}\t${r.status}\n`;
  }
  return text;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** An invalid time is NULL, which the column refuses: the row is refused, not misread. */
function copyTime(at: Date): string {
  return Number.isNaN(at.getTime()) ? "\\N" : at.toISOString();
}

/** A text value as COPY reads it back exactly. (A NUL cannot be stored in text: the server refuses the row, as it refused it in JSON.) */
function copyField(value: string | null): string {
  if (value === null) return "\\N";
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value;
}

/** Adds rollups to what is stored (an upsert that sums); rollupsOf gives one row per key, in key order. */
export async function addRollups(tx: SQL, rollups: UsageRollup[]): Promise<void> {
  for (const chunk of chunks(rollups)) {
    await tx`
      INSERT INTO usage_hourly (hour, user_name, model, endpoint, requests, prompt_tokens, completion_tokens, errors)
      SELECT x.hour, x."userName", COALESCE(x.model, ''), x.endpoint, x.requests, x."promptTokens", x."completionTokens", x.errors
      FROM jsonb_to_recordset(${tx.json(chunk)}::jsonb) AS x(hour timestamptz, "userName" text, model text, endpoint text,
        requests bigint, "promptTokens" bigint, "completionTokens" bigint, errors bigint)
      ON CONFLICT (hour, user_name, model, endpoint) DO UPDATE SET
        requests = usage_hourly.requests + EXCLUDED.requests,
        prompt_tokens = usage_hourly.prompt_tokens + EXCLUDED.prompt_tokens,
        completion_tokens = usage_hourly.completion_tokens + EXCLUDED.completion_tokens,
        errors = usage_hourly.errors + EXCLUDED.errors`;
  }
}

export async function insertUsage(tx: SQL, rows: UsageRecord[]): Promise<void> {
  await insertUsageRows(tx, rows);
  await addRollups(tx, rollupsOf(rows));
}

export async function insertUsers(tx: SQL, users: User[]): Promise<void> {
  for (const chunk of chunks(users)) {
    await tx`
      INSERT INTO users (id, username, role, disabled, created_at)
      SELECT x.id, x.name, x.role, x.disabled, x."createdAt"
      FROM jsonb_to_recordset(${tx.json(chunk)}::jsonb) AS x(id uuid, name text, role text, disabled boolean, "createdAt" timestamptz)`;
  }
}

export async function insertKeys(tx: SQL, keys: ApiKey[]): Promise<void> {
  for (const chunk of chunks(keys)) {
    await tx`
      INSERT INTO api_keys (id, key_id, user_id, name, key_hash, created_at, expires_at, revoked_at, last_used_at)
      SELECT x.id, x."keyId", x."userId", x.name, x.hash, x."createdAt", x."expiresAt", x."revokedAt", x."lastUsedAt"
      FROM jsonb_to_recordset(${tx.json(chunk)}::jsonb) AS x(id uuid, "keyId" text, "userId" uuid, name text, hash text,
        "createdAt" timestamptz, "expiresAt" timestamptz, "revokedAt" timestamptz, "lastUsedAt" timestamptz)`;
  }
}

export async function insertLimits(tx: SQL, limits: Dump["limits"]): Promise<void> {
  for (const chunk of chunks(limits)) {
    await tx`
      INSERT INTO rate_limits (user_id, token_limit_hourly, token_limit_daily, request_limit_hourly, request_limit_daily, concurrency_limit, updated_at)
      SELECT x."userId", x."tokensHourly", x."tokensDaily", x."requestsHourly", x."requestsDaily", x.concurrency, ${new Date()}
      FROM jsonb_to_recordset(${tx.json(chunk)}::jsonb) AS x("userId" uuid, "tokensHourly" bigint, "tokensDaily" bigint,
        "requestsHourly" int, "requestsDaily" int, concurrency int)`;
  }
}

export async function insertModels(tx: SQL, models: Dump["models"]): Promise<void> {
  for (const chunk of chunks(models)) {
    await tx`
      INSERT INTO user_models (user_id, model)
      SELECT x."userId", x.model FROM jsonb_to_recordset(${tx.json(chunk)}::jsonb) AS x("userId" uuid, model text)`;
  }
}
