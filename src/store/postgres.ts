/**
 * The PostgreSQL driver (Bun SQL, pooled). Every transaction runs on one reserved connection;
 * connection failures become StoreError("unavailable") naming host:port, never a hang: a
 * connection attempt gives up after CONNECT_TIMEOUT_S, and a short operation that gets no answer
 * within ANSWER_TIMEOUT_MS drops its connection (postgres-deadline.ts).
 */
import { SQL } from "bun";
import { assertRestorable, dumpHeader } from "./backup.ts";
import { assertModelList, notFound, type ConstraintMessages } from "./errors.ts";
import { withDeadline } from "./postgres-deadline.ts";
import { target, translate } from "./postgres-errors.ts";
import { POSTGRES_MIGRATIONS } from "./migrations.ts";
import * as bulk from "./postgres-bulk.ts";
import * as rows from "./postgres-rows.ts";
import { finishReport, reportSql, type ReportDialect } from "./report.ts";
import {
  changedLimits,
  StoreError,
  type ApiKey,
  type Dump,
  type Limits,
  type Principal,
  type ReportQuery,
  type ReportRow,
  type Role,
  type Store,
  type UsageRecord,
  type User,
} from "./store.ts";

const CONNECT_TIMEOUT_S = 5;
/** Longest wait for a short operation's answer (see postgres-deadline.ts). */
const ANSWER_TIMEOUT_MS = 10_000;
/** Key of the advisory lock that serializes migrations across processes. */
const MIGRATION_LOCK = 7_050_207_311;

const dialect: ReportDialect = {
  placeholder: (n) => `$${n}`,
  time: (at) => at.toISOString(),
  day: (column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  hour: (column) => `to_char(date_trunc('hour', ${column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`,
};

/** A pool of at most `poolSize` connections; nothing connects until the first query. */
export function openPostgresStore(url: string, poolSize: number, { answerTimeoutMs = ANSWER_TIMEOUT_MS } = {}): Store {
  const sql = new SQL(url, { max: poolSize, connectionTimeout: CONNECT_TIMEOUT_S, idleTimeout: 60 });
  return new PostgresStore(sql, target(url), answerTimeoutMs);
}

class PostgresStore implements Store {
  readonly driver = "postgres";

  constructor(
    private readonly sql: SQL,
    private readonly target: string,
    private readonly answerTimeoutMs: number,
  ) {}

  async migrate(): Promise<string[]> {
    const applied: string[] = [];
    for (const migration of POSTGRES_MIGRATIONS) {
      const ranNow = await this.slowWrite(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
        await tx`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`;
        if ((await tx`SELECT 1 FROM schema_migrations WHERE name = ${migration.name}`).length) return false;
        await tx.unsafe(migration.sql);
        await tx`INSERT INTO schema_migrations (name, applied_at) VALUES (${migration.name}, ${new Date()})`;
        return true;
      });
      if (ranNow) applied.push(migration.name);
    }
    return applied;
  }

  async ping(): Promise<void> {
    await this.read((db) => db`SELECT 1`);
  }

  async close(): Promise<void> {
    await this.sql.close({ timeout: 5 });
  }

  async revision(): Promise<number> {
    const [row] = await this.read((db) => db`SELECT value FROM revision WHERE id = 1`);
    return Number(row.value);
  }

  async createUser(input: { name: string; role: Role }): Promise<User> {
    const user: User = { id: crypto.randomUUID(), name: input.name, role: input.role, disabled: false, createdAt: new Date() };
    await this.write(async (tx) => {
      await bulk.insertUsers(tx, [user]);
      await bump(tx);
    }, { duplicate: `user "${input.name}" already exists` });
    return user;
  }

  async findUser(name: string): Promise<User | null> {
    const [row] = await this.read((db) => db`SELECT * FROM users WHERE username = ${name}`);
    return row ? rows.toUser(row) : null;
  }

  async listUsers(): Promise<User[]> {
    const found: rows.UserRow[] = await this.read((db) => db`SELECT * FROM users ORDER BY username COLLATE "C"`);
    return found.map(rows.toUser);
  }

  async setUserDisabled(userId: string, disabled: boolean): Promise<void> {
    await this.write((tx) => changeOne(tx, tx`UPDATE users SET disabled = ${disabled} WHERE id = ${userId}`, "user"));
  }

  async deleteUser(userId: string): Promise<void> {
    await this.write(async (tx) => {
      // Waits for usage inserts holding this user (postgres-bulk.ts), then sees their rows.
      await changeOne(tx, tx`DELETE FROM users WHERE id = ${userId}`, "user");
      await tx`UPDATE usage_logs SET user_id = NULL WHERE user_id = ${userId}`;
    });
  }

  async countAdmins(): Promise<number> {
    const [row] = await this.read((db) => db`SELECT COUNT(*) AS n FROM users WHERE role = 'admin'`);
    return Number(row.n);
  }

  async createKey(input: { userId: string; keyId: string; hash: string; name: string | null; expiresAt: Date | null }): Promise<ApiKey> {
    const key: ApiKey = { id: crypto.randomUUID(), ...input, createdAt: new Date(), revokedAt: null, lastUsedAt: null };
    await this.write(async (tx) => {
      await bulk.insertKeys(tx, [key]);
      await bump(tx);
    }, { duplicate: `key id "${input.keyId}" already exists`, missing: "user not found" });
    return key;
  }

  async findKey(keyId: string): Promise<ApiKey | null> {
    const [row] = await this.read((db) => db`SELECT * FROM api_keys WHERE key_id = ${keyId}`);
    return row ? rows.toKey(row) : null;
  }

  async listKeys(userId?: string): Promise<ApiKey[]> {
    const found: rows.KeyRow[] = await this.read((db) =>
      userId === undefined
        ? db`SELECT * FROM api_keys ORDER BY created_at DESC, key_id COLLATE "C"`
        : db`SELECT * FROM api_keys WHERE user_id = ${userId} ORDER BY created_at DESC, key_id COLLATE "C"`,
    );
    return found.map(rows.toKey);
  }

  async revokeKey(keyId: string, at: Date): Promise<void> {
    // The earliest revocation wins: revoking again never extends a key's life.
    await this.write((tx) =>
      changeOne(tx, tx`UPDATE api_keys SET revoked_at = LEAST(revoked_at, ${at}::timestamptz) WHERE key_id = ${keyId}`, "key"),
    );
  }

  async setKeyExpiry(keyId: string, expiresAt: Date | null): Promise<void> {
    await this.write((tx) => changeOne(tx, tx`UPDATE api_keys SET expires_at = ${expiresAt} WHERE key_id = ${keyId}`, "key"));
  }

  async touchKeys(lastUsed: Map<string, Date>): Promise<void> {
    if (lastUsed.size === 0) return;
    const touches = [...lastUsed].map(([keyId, at]) => ({ keyId, at }));
    await this.write(
      (tx) => tx`
        UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, x.at)
        FROM jsonb_to_recordset(${tx.json(touches)}::jsonb) AS x("keyId" text, at timestamptz)
        WHERE k.key_id = x."keyId"`,
    );
  }

  async loadPrincipal(keyId: string): Promise<Principal | null> {
    // One round trip: the auth cache's miss path waits on it.
    const [row]: rows.PrincipalRow[] = await this.read(
      (db) => db`
        SELECT k.*, u.username, u.role, u.disabled, u.created_at AS user_created_at,
               l.user_id AS limits_user_id, l.token_limit_hourly, l.token_limit_daily,
               l.request_limit_hourly, l.request_limit_daily, l.concurrency_limit,
               ARRAY(SELECT m.model FROM user_models m WHERE m.user_id = k.user_id ORDER BY m.model COLLATE "C") AS models
        FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN rate_limits l ON l.user_id = k.user_id
        WHERE k.key_id = ${keyId}`,
    );
    if (!row) return null;
    const models = Array.from(row.models);
    return {
      user: rows.toPrincipalUser(row),
      key: rows.toKey(row),
      limits: row.limits_user_id ? rows.toLimits(row) : null,
      models: models.length ? models : null,
    };
  }

  async getLimits(userId: string): Promise<Limits | null> {
    const [row] = await this.read((db) => db`SELECT * FROM rate_limits WHERE user_id = ${userId}`);
    return row ? rows.toLimits(row) : null;
  }

  async setLimits(userId: string, changes: Partial<Limits>): Promise<Limits> {
    return this.write(async (tx) => {
      await requireUser(tx, userId);
      const [current] = await tx`SELECT * FROM rate_limits WHERE user_id = ${userId} FOR UPDATE`;
      const limits = changedLimits(current ? rows.toLimits(current) : null, changes);
      await tx`DELETE FROM rate_limits WHERE user_id = ${userId}`;
      await bulk.insertLimits(tx, [{ userId, ...limits }]);
      await bump(tx);
      return limits;
    });
  }

  async clearLimits(userId: string): Promise<void> {
    await this.write(async (tx) => {
      await requireUser(tx, userId);
      await tx`DELETE FROM rate_limits WHERE user_id = ${userId}`;
      await bump(tx);
    });
  }

  async getModels(userId: string): Promise<string[] | null> {
    const found: { model: string }[] = await this.read(
      (db) => db`SELECT model FROM user_models WHERE user_id = ${userId} ORDER BY model COLLATE "C"`,
    );
    return found.length ? found.map((r) => r.model) : null;
  }

  async setModels(userId: string, models: string[] | null): Promise<void> {
    assertModelList(models);
    await this.write(async (tx) => {
      await requireUser(tx, userId);
      await tx`DELETE FROM user_models WHERE user_id = ${userId}`;
      await bulk.insertModels(tx, [...new Set(models ?? [])].map((model) => ({ userId, model })));
      await bump(tx);
    });
  }

  async insertUsage(batch: UsageRecord[]): Promise<void> {
    if (batch.length === 0) return;
    await this.write((tx) => bulk.insertUsage(tx, batch), { duplicate: "a usage row with this id is already recorded" });
  }

  async report(query: ReportQuery): Promise<ReportRow[]> {
    const { text, params } = reportSql(query, dialect);
    const found = await this.slowRead((db) => db.unsafe(text, params));
    return finishReport(found, query);
  }

  async pruneUsage(before: Date): Promise<number> {
    const result = await this.slowWrite((tx) => tx`DELETE FROM usage_logs WHERE timestamp < ${before}`);
    return result.count;
  }

  async dump(): Promise<Dump> {
    return this.guard({}, () =>
      this.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => ({
        ...dumpHeader(),
        users: (await tx`SELECT * FROM users ORDER BY username COLLATE "C"`).map(rows.toUser),
        keys: (await tx`SELECT * FROM api_keys ORDER BY created_at, key_id COLLATE "C"`).map(rows.toKey),
        limits: (await tx`SELECT * FROM rate_limits ORDER BY user_id`).map((r: rows.LimitsRow) => ({ userId: r.user_id, ...rows.toLimits(r) })),
        models: (await tx`SELECT user_id, model FROM user_models ORDER BY user_id, model COLLATE "C"`).map(
          (r: { user_id: string; model: string }) => ({ userId: r.user_id, model: r.model }),
        ),
        usage: (await tx`SELECT * FROM usage_logs ORDER BY timestamp, id`).map(rows.toUsage),
        rollups: (await tx`SELECT * FROM usage_hourly ORDER BY hour, user_name COLLATE "C", model COLLATE "C", endpoint COLLATE "C"`).map(rows.toRollup),
      })),
    );
  }

  async restore(dump: Dump, options: { force: boolean }): Promise<void> {
    assertRestorable(dump);
    await this.slowWrite(async (tx) => {
      const [{ has }] = await tx`
        SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM usage_logs) OR EXISTS (SELECT 1 FROM usage_hourly) AS has`;
      if (has && !options.force) {
        throw new StoreError("not_empty", `the PostgreSQL database at ${this.target} already has data; restore with force to replace it`);
      }
      await tx`DELETE FROM usage_hourly`;
      await tx`DELETE FROM usage_logs`;
      await tx`DELETE FROM users`; // cascades to keys, limits and allowlists
      await bulk.insertUsers(tx, dump.users);
      await bulk.insertKeys(tx, dump.keys);
      await bulk.insertLimits(tx, dump.limits);
      await bulk.insertModels(tx, dump.models);
      await bulk.insertUsageRows(tx, dump.usage);
      await bulk.addRollups(tx, dump.rollups);
      await bump(tx);
    }, { duplicate: "the backup holds the same row twice" });
  }

  /** A short read: answered within answerTimeoutMs, or StoreError("unavailable"). */
  private read<T>(fn: (db: SQL) => Promise<T> | T): Promise<T> {
    return this.guard({}, () => withDeadline(this.sql, this.answerTimeoutMs, this.target, async (db) => fn(db)));
  }

  /** A short transaction: committed within answerTimeoutMs, or rolled back and StoreError("unavailable"). */
  private write<T>(fn: (tx: SQL) => Promise<T>, messages: ConstraintMessages = {}): Promise<T> {
    return this.guard(messages, () =>
      withDeadline(this.sql, this.answerTimeoutMs, this.target, (db) => db.begin((tx) => fn(tx)) as Promise<T>),
    );
  }

  /** Reports may rightly take long: no deadline. */
  private slowRead<T>(fn: (db: SQL) => Promise<T>): Promise<T> {
    return this.guard({}, () => fn(this.sql));
  }

  /** Migrations (which wait for each other), pruning and restores may rightly take long: no deadline. */
  private slowWrite<T>(fn: (tx: SQL) => Promise<T>, messages: ConstraintMessages = {}): Promise<T> {
    return this.guard(messages, () => this.sql.begin((tx) => fn(tx)) as Promise<T>);
  }

  private async guard<T>(messages: ConstraintMessages, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translate(error, messages, this.target);
    }
  }
}

async function bump(tx: SQL): Promise<void> {
  await tx`UPDATE revision SET value = value + 1 WHERE id = 1`;
}

async function requireUser(tx: SQL, userId: string): Promise<void> {
  if (!(await tx`SELECT 1 FROM users WHERE id = ${userId} FOR SHARE`).length) throw notFound("user");
}

/** Runs a one-row admin change and bumps the revision; a change that matched nothing is not_found. */
async function changeOne(tx: SQL, change: Promise<{ count: number }>, what: string): Promise<void> {
  if ((await change).count === 0) throw notFound(what);
  await bump(tx);
}
