/**
 * Store: everything Parallama keeps durably (users, keys, limits, allowlists, usage).
 *
 * Contract (every driver passes test/contract/store.contract.ts):
 * - Ids are UUIDs made by the caller or the driver with crypto.randomUUID(); times are UTC Dates.
 * - Every mutating method is atomic: it either applies whole or changes nothing, and throws
 *   a StoreError with a code the CLI and server map to messages. A mutation naming a user id or
 *   key id that does not exist throws StoreError("not_found").
 * - Every admin mutation (user disabled/enabled/deleted, key created/revoked/expiry changed,
 *   limits or models changed) bumps `revision()` in the same transaction, so running gateways
 *   that poll it notice within one poll interval.
 * - Deleting a user deletes its keys, limits and allowlist; usage rows stay and keep the name.
 * - `insertUsage` writes a whole batch in one statement/transaction, or throws and writes none.
 * - Usage reports aggregate raw rows; nothing here returns request or response bodies.
 */

export type Role = "admin" | "user";

export interface User {
  id: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: Date;
}

export interface ApiKey {
  /** Row id (UUID). */
  id: string;
  /** Public key id, the middle part of `plm_<keyId>_<secret>`; unique and indexed. */
  keyId: string;
  userId: string;
  name: string | null;
  /** argon2id PHC string of the secret part. */
  hash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** null means unlimited for that window. */
export interface Limits {
  requestsHourly: number | null;
  requestsDaily: number | null;
  tokensHourly: number | null;
  tokensDaily: number | null;
  concurrency: number | null;
}

export const NO_LIMITS: Limits = Object.freeze({
  requestsHourly: null,
  requestsDaily: null,
  tokensHourly: null,
  tokensDaily: null,
  concurrency: null,
});

/** `current` (or no limits) with the fields `changes` gives; an undefined field leaves the current value. */
export function changedLimits(current: Limits | null, changes: Partial<Limits>): Limits {
  const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  return { ...(current ?? NO_LIMITS), ...given };
}

/** Limits as the CLI's --json and GET /parallama/v1/me show them. */
export function limitsJson(limits: Limits) {
  return {
    requests_hourly: limits.requestsHourly,
    requests_daily: limits.requestsDaily,
    tokens_hourly: limits.tokensHourly,
    tokens_daily: limits.tokensDaily,
    concurrency: limits.concurrency,
  };
}

/** What the gateway needs to admit a request: the user, their own limits row (or null) and allowlist (or null = any model). */
export interface Principal {
  user: User;
  key: ApiKey;
  limits: Limits | null;
  models: string[] | null;
}

export interface UsageRecord {
  id: string;
  at: Date;
  userId: string | null;
  userName: string;
  /** The public key id used, or null when the request had none that verified. */
  keyId: string | null;
  method: string;
  endpoint: string;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  durationMs: number;
  status: number;
}

export type ReportGroup = "user" | "model" | "endpoint" | "day" | "hour";

export interface ReportQuery {
  by: ReportGroup[];
  since?: Date;
  until?: Date;
  user?: string;
  model?: string;
}

export interface ReportRow {
  user?: string;
  model?: string | null;
  endpoint?: string;
  day?: string;
  hour?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Requests whose status was 400 or above (499 included). */
  errors: number;
}

/** A portable, driver-independent dump; see src/store/backup.ts. */
export interface Dump {
  format: "parallama-backup";
  version: 1;
  createdAt: string;
  users: User[];
  keys: ApiKey[];
  limits: Array<{ userId: string } & Limits>;
  models: Array<{ userId: string; model: string }>;
  usage: UsageRecord[];
  rollups: UsageRollup[];
}

/** One hour of one user's use of one model on one endpoint; kept after raw rows are pruned. */
export interface UsageRollup {
  hour: string; // ISO start of the hour, UTC
  userName: string;
  model: string | null;
  endpoint: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  errors: number;
}

export type StoreErrorCode =
  | "duplicate" // a unique name or key id already exists
  | "not_found"
  | "unavailable" // the database cannot be reached
  | "not_empty"; // restore into a store that has data

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export interface Store {
  readonly driver: "sqlite" | "postgres";

  /** Applies pending migrations in order; returns the names applied now. */
  migrate(): Promise<string[]>;
  /** Cheap round trip, for /readyz. Throws StoreError("unavailable") when down. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Monotonic counter bumped by every admin mutation (see contract). */
  revision(): Promise<number>;

  createUser(input: { name: string; role: Role }): Promise<User>;
  findUser(name: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  setUserDisabled(userId: string, disabled: boolean): Promise<void>;
  deleteUser(userId: string): Promise<void>;
  countAdmins(): Promise<number>;

  createKey(input: {
    userId: string;
    keyId: string;
    hash: string;
    name: string | null;
    expiresAt: Date | null;
  }): Promise<ApiKey>;
  findKey(keyId: string): Promise<ApiKey | null>;
  /** Keys of one user, or of every user; newest first. */
  listKeys(userId?: string): Promise<ApiKey[]>;
  /** The earliest revocation time wins: revoking again never extends a key's life. */
  revokeKey(keyId: string, at: Date): Promise<void>;
  setKeyExpiry(keyId: string, expiresAt: Date | null): Promise<void>;
  /** Records last use for many keys at once (called by the usage flusher, never per request). */
  touchKeys(lastUsed: Map<string, Date>): Promise<void>;

  /** The key with its user, limits and allowlist in one call: the auth cache's miss path. */
  loadPrincipal(keyId: string): Promise<Principal | null>;

  getLimits(userId: string): Promise<Limits | null>;
  /** Sets the given fields (undefined leaves a field unchanged, null clears it), creating the row if needed. */
  setLimits(userId: string, limits: Partial<Limits>): Promise<Limits>;
  clearLimits(userId: string): Promise<void>;

  /** null: every model is allowed. */
  getModels(userId: string): Promise<string[] | null>;
  /** An empty list throws RangeError (it would read back as "every model"); pass null for that. */
  setModels(userId: string, models: string[] | null): Promise<void>;

  /**
   * Writes raw rows and adds them to the hourly rollups, in one transaction.
   * A row whose user has since been deleted is kept with userId null (and its userName).
   */
  insertUsage(rows: UsageRecord[]): Promise<void>;
  /**
   * Aggregates from rollups when since/until are absent or whole hours, else from raw rows.
   * `since` is inclusive, `until` exclusive; rows are sorted by the groups in `by` order; groups with no requests are absent.
   */
  report(query: ReportQuery): Promise<ReportRow[]>;
  /** Deletes raw usage rows older than `before` (rollups stay); returns how many. */
  pruneUsage(before: Date): Promise<number>;

  /** Reads everything for a backup, consistent as of one moment (a read transaction). */
  dump(): Promise<Dump>;
  /** Loads a dump; refuses a non-empty store unless force (then replaces everything). */
  restore(dump: Dump, options: { force: boolean }): Promise<void>;
}
