/**
 * The SQLite driver (bun:sqlite): one connection, WAL, times as unix milliseconds.
 * bun:sqlite is synchronous, so each method runs whole before any other code on this process;
 * BEGIN IMMEDIATE and busy_timeout order writers across processes.
 */
import { Database, SQLiteError, type SQLQueryBindings } from "bun:sqlite";
import { assertRestorable, dumpHeader } from "./backup.ts";
import { assertModelList, duplicate, missing, notFound, reason, type ConstraintMessages } from "./errors.ts";
import { SQLITE_MIGRATIONS } from "./migrations.ts";
import { finishReport, reportSql, rollupsOf, type ReportDialect } from "./report.ts";
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
import { SqliteCheckpointer } from "./sqlite-checkpointer.ts";
import * as rows from "./sqlite-rows.ts";
import * as writes from "./sqlite-writes.ts";

const BUSY_TIMEOUT_MS = 5_000;

const dialect: ReportDialect = {
  placeholder: (n) => `?${n}`,
  time: (at) => at.getTime(),
  day: (column) => `strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch')`,
  hour: (column) => `strftime('%Y-%m-%dT%H:00:00.000Z', ${column} / 1000, 'unixepoch')`,
};

export interface SqliteOptions {
  /** Set for the gateway: WAL checkpoints run on a worker thread (sqlite-checkpointer.ts); its failures are reported here. */
  backgroundCheckpoints?: { onError(err: Error): void };
}

/** Opens (creating when absent) the database file; the parent directory must exist. */
export function openSqliteStore(path: string, options: SqliteOptions = {}): Store {
  let db: Database;
  try {
    db = new Database(path, { create: true, readwrite: true });
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA foreign_keys = ON");
  } catch (error) {
    throw new StoreError("unavailable", `cannot open SQLite database ${path}: ${reason(error)}`);
  }
  const checkpointer = options.backgroundCheckpoints ? new SqliteCheckpointer(db, path, options.backgroundCheckpoints.onError) : null;
  return new SqliteStore(db, path, checkpointer);
}

class SqliteStore implements Store {
  readonly driver = "sqlite";

  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly checkpointer: SqliteCheckpointer | null,
  ) {}

  async migrate(): Promise<string[]> {
    const applied: string[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      const ranNow = this.write(() => {
        this.db.run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)");
        if (this.db.query("SELECT 1 FROM schema_migrations WHERE name = ?").get(migration.name)) return false;
        this.db.run(migration.sql);
        this.db.query("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)").run(migration.name, Date.now());
        return true;
      });
      if (ranNow) applied.push(migration.name);
    }
    return applied;
  }

  async ping(): Promise<void> {
    this.read(() => this.db.query("SELECT 1").get());
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    this.db.close();
  }

  async revision(): Promise<number> {
    return this.read(() => (this.db.query("SELECT value FROM revision WHERE id = 1").get() as { value: number }).value);
  }

  async createUser(input: { name: string; role: Role }): Promise<User> {
    const user: User = { id: crypto.randomUUID(), name: input.name, role: input.role, disabled: false, createdAt: new Date() };
    this.write(() => {
      writes.insertUser(this.db, user);
      this.bump();
    }, { duplicate: `user "${input.name}" already exists` });
    return user;
  }

  async findUser(name: string): Promise<User | null> {
    const row = this.read(() => this.db.query("SELECT * FROM users WHERE username = ?").get(name) as rows.UserRow | null);
    return row && rows.toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return this.read(() => (this.db.query("SELECT * FROM users ORDER BY username").all() as rows.UserRow[]).map(rows.toUser));
  }

  async setUserDisabled(userId: string, disabled: boolean): Promise<void> {
    this.write(() => this.changeOne("UPDATE users SET disabled = ? WHERE id = ?", [disabled ? 1 : 0, userId], "user"));
  }

  async deleteUser(userId: string): Promise<void> {
    this.write(() => this.changeOne("DELETE FROM users WHERE id = ?", [userId], "user"));
  }

  async countAdmins(): Promise<number> {
    return this.read(() => (this.db.query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n);
  }

  async createKey(input: { userId: string; keyId: string; hash: string; name: string | null; expiresAt: Date | null }): Promise<ApiKey> {
    const key: ApiKey = { id: crypto.randomUUID(), ...input, createdAt: new Date(), revokedAt: null, lastUsedAt: null };
    this.write(() => {
      writes.insertKey(this.db, key);
      this.bump();
    }, { duplicate: `key id "${input.keyId}" already exists`, missing: "user not found" });
    return key;
  }

  async findKey(keyId: string): Promise<ApiKey | null> {
    const row = this.read(() => this.db.query("SELECT * FROM api_keys WHERE key_id = ?").get(keyId) as rows.KeyRow | null);
    return row && rows.toKey(row);
  }

  async listKeys(userId?: string): Promise<ApiKey[]> {
    const order = "ORDER BY created_at DESC, key_id";
    const found = this.read(() =>
      userId === undefined
        ? this.db.query(`SELECT * FROM api_keys ${order}`).all()
        : this.db.query(`SELECT * FROM api_keys WHERE user_id = ? ${order}`).all(userId),
    ) as rows.KeyRow[];
    return found.map(rows.toKey);
  }

  async revokeKey(keyId: string, at: Date): Promise<void> {
    // The earliest revocation wins: revoking again never extends a key's life.
    const sql = "UPDATE api_keys SET revoked_at = MIN(COALESCE(revoked_at, ?1), ?1) WHERE key_id = ?2";
    this.write(() => this.changeOne(sql, [at.getTime(), keyId], "key"));
  }

  async setKeyExpiry(keyId: string, expiresAt: Date | null): Promise<void> {
    this.write(() => this.changeOne("UPDATE api_keys SET expires_at = ? WHERE key_id = ?", [expiresAt?.getTime() ?? null, keyId], "key"));
  }

  async touchKeys(lastUsed: Map<string, Date>): Promise<void> {
    const touch = this.db.query("UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE key_id = ?");
    await this.checkpointer?.beforeWrite();
    this.write(() => {
      for (const [keyId, at] of lastUsed) touch.run(at.getTime(), keyId);
    });
  }

  async loadPrincipal(keyId: string): Promise<Principal | null> {
    return this.read(() => {
      const row = this.db
        .query(
          `SELECT k.*, u.username, u.role, u.disabled, u.created_at AS user_created_at,
                  l.user_id AS limits_user_id, l.token_limit_hourly, l.token_limit_daily,
                  l.request_limit_hourly, l.request_limit_daily, l.concurrency_limit
           FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN rate_limits l ON l.user_id = k.user_id
           WHERE k.key_id = ?`,
        )
        .get(keyId) as rows.PrincipalRow | null;
      if (!row) return null;
      return { user: rows.toPrincipalUser(row), key: rows.toKey(row), limits: row.limits_user_id ? rows.toLimits(row) : null, models: this.models(row.user_id) };
    });
  }

  async getLimits(userId: string): Promise<Limits | null> {
    const row = this.read(() => this.db.query("SELECT * FROM rate_limits WHERE user_id = ?").get(userId) as rows.LimitsRow | null);
    return row && rows.toLimits(row);
  }

  async setLimits(userId: string, changes: Partial<Limits>): Promise<Limits> {
    return this.write(() => {
      this.requireUser(userId);
      const current = this.db.query("SELECT * FROM rate_limits WHERE user_id = ?").get(userId) as rows.LimitsRow | null;
      const limits = changedLimits(current ? rows.toLimits(current) : null, changes);
      writes.upsertLimits(this.db, userId, limits);
      this.bump();
      return limits;
    });
  }

  async clearLimits(userId: string): Promise<void> {
    this.write(() => {
      this.requireUser(userId);
      this.db.query("DELETE FROM rate_limits WHERE user_id = ?").run(userId);
      this.bump();
    });
  }

  async getModels(userId: string): Promise<string[] | null> {
    return this.read(() => this.models(userId));
  }

  async setModels(userId: string, models: string[] | null): Promise<void> {
    assertModelList(models);
    this.write(() => {
      this.requireUser(userId);
      this.db.query("DELETE FROM user_models WHERE user_id = ?").run(userId);
      for (const model of new Set(models ?? [])) writes.insertModel(this.db, userId, model);
      this.bump();
    });
  }

  async insertUsage(batch: UsageRecord[]): Promise<void> {
    if (batch.length === 0) return;
    await this.checkpointer?.beforeWrite();
    this.write(() => {
      writes.insertUsageRows(this.db, batch);
      for (const rollup of rollupsOf(batch)) writes.addRollup(this.db, rollup);
    }, { duplicate: "a usage row with this id is already recorded" });
    this.checkpointer?.wrote(batch.length);
  }

  async report(query: ReportQuery): Promise<ReportRow[]> {
    const { text, params } = reportSql(query, dialect);
    const found = this.read(() => this.db.query(text).all(...(params as SQLQueryBindings[])) as Record<string, unknown>[]);
    return finishReport(found, query);
  }

  async pruneUsage(before: Date): Promise<number> {
    await this.checkpointer?.beforeWrite();
    const pruned = this.write(() => this.db.query("DELETE FROM usage_logs WHERE timestamp < ?").run(before.getTime()).changes);
    this.checkpointer?.wrote(pruned);
    return pruned;
  }

  async dump(): Promise<Dump> {
    return this.read(() =>
      this.db.transaction(() => ({
        ...dumpHeader(),
        users: (this.db.query("SELECT * FROM users ORDER BY username").all() as rows.UserRow[]).map(rows.toUser),
        keys: (this.db.query("SELECT * FROM api_keys ORDER BY created_at, key_id").all() as rows.KeyRow[]).map(rows.toKey),
        limits: (this.db.query("SELECT * FROM rate_limits ORDER BY user_id").all() as rows.LimitsRow[]).map((r) => ({ userId: r.user_id, ...rows.toLimits(r) })),
        models: (this.db.query("SELECT user_id AS userId, model FROM user_models ORDER BY user_id, model").all() as Dump["models"]),
        usage: (this.db.query("SELECT * FROM usage_logs ORDER BY timestamp, id").all() as rows.UsageRow[]).map(rows.toUsage),
        rollups: (this.db.query("SELECT * FROM usage_hourly ORDER BY hour, user_name, model, endpoint").all() as rows.RollupRow[]).map(rows.toRollup),
      })).deferred(),
    );
  }

  async restore(dump: Dump, options: { force: boolean }): Promise<void> {
    assertRestorable(dump);
    this.write(() => {
      const hasData = this.db.query(
        "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM usage_logs) OR EXISTS (SELECT 1 FROM usage_hourly) AS has",
      ).get() as { has: number };
      if (hasData.has && !options.force) throw new StoreError("not_empty", `the SQLite database ${this.path} already has data; restore with force to replace it`);
      for (const table of ["usage_hourly", "usage_logs", "user_models", "rate_limits", "api_keys", "users"]) this.db.run(`DELETE FROM ${table}`);
      for (const u of dump.users) writes.insertUser(this.db, u);
      for (const k of dump.keys) writes.insertKey(this.db, k);
      for (const l of dump.limits) writes.upsertLimits(this.db, l.userId, l);
      for (const m of dump.models) writes.insertModel(this.db, m.userId, m.model);
      writes.insertUsageRows(this.db, dump.usage);
      for (const r of dump.rollups) writes.addRollup(this.db, r);
      this.bump();
    }, { duplicate: "the backup holds the same row twice" });
  }

  private models(userId: string): string[] | null {
    const found = this.db.query("SELECT model FROM user_models WHERE user_id = ? ORDER BY model").all(userId) as { model: string }[];
    return found.length ? found.map((r) => r.model) : null;
  }

  private requireUser(userId: string): void {
    if (!this.db.query("SELECT 1 FROM users WHERE id = ?").get(userId)) throw notFound("user");
  }

  /** Runs a one-row admin change and bumps the revision; a change that matched nothing is not_found. */
  private changeOne(sql: string, params: SQLQueryBindings[], what: string): void {
    if (this.db.query(sql).run(...params).changes === 0) throw notFound(what);
    this.bump();
  }

  private bump(): void {
    this.db.run("UPDATE revision SET value = value + 1 WHERE id = 1");
  }

  private write<T>(fn: () => T, messages: ConstraintMessages = {}): T {
    return this.guard(() => this.db.transaction(fn).immediate(), messages);
  }

  private read<T>(fn: () => T): T {
    return this.guard(fn, {});
  }

  private guard<T>(fn: () => T, messages: ConstraintMessages): T {
    try {
      return fn();
    } catch (error) {
      throw translate(error, messages, this.path);
    }
  }
}

function translate(error: unknown, messages: ConstraintMessages, path: string): unknown {
  if (!(error instanceof SQLiteError)) return error;
  const code = error.code ?? "";
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") return duplicate(messages, error);
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return missing(messages, error);
  if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|READONLY|FULL|CORRUPT|NOTADB)/.test(code)) {
    return new StoreError("unavailable", `SQLite database ${path} unusable: ${error.message}`);
  }
  return error;
}
