/**
 * Table rows as the Store's types, written once for both dialects. The dialects' rows differ only
 * in how a time (T) and a flag (F) arrive, which each dialect's converters read; a count arrives as
 * a number or, for BIGINT in PostgreSQL, a string, and Number() reads both.
 */
import type { ApiKey, Limits, Role, UsageRecord, UsageRollup, User } from "./store.ts";

type Count = number | string;

export interface UserRow<T, F> {
  id: string;
  username: string;
  role: Role;
  disabled: F;
  created_at: T;
}

export interface KeyRow<T> {
  id: string;
  key_id: string;
  user_id: string;
  name: string | null;
  key_hash: string;
  created_at: T;
  expires_at: T | null;
  revoked_at: T | null;
  last_used_at: T | null;
}

export interface LimitsRow<C extends Count> {
  user_id: string;
  token_limit_hourly: C | null;
  token_limit_daily: C | null;
  request_limit_hourly: number | null;
  request_limit_daily: number | null;
  concurrency_limit: number | null;
}

/** An api_keys row joined with its user and (LEFT JOIN, so limits_user_id may be null) its limits. */
export type PrincipalRow<T, F, C extends Count> = KeyRow<T> &
  Omit<LimitsRow<C>, "user_id"> & { username: string; role: Role; disabled: F; user_created_at: T; limits_user_id: string | null };

export interface UsageRow<T> {
  id: string;
  user_id: string | null;
  user_name: string;
  key_id: string | null;
  timestamp: T;
  method: string;
  endpoint: string;
  model_name: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  request_duration: number;
  status_code: number;
}

export interface RollupRow<T, C extends Count> {
  hour: T;
  user_name: string;
  model: string;
  endpoint: string;
  requests: C;
  prompt_tokens: C;
  completion_tokens: C;
  errors: C;
}

/** How one dialect's driver returns a time and a flag. */
export interface Converters<T, F> {
  time(value: T): Date;
  flag(value: F): boolean;
}

/** The row mappers for one dialect; each is a plain function, so it can be passed to Array.map. */
export function rowMappers<T, F>({ time, flag }: Converters<T, F>) {
  const maybeTime = (value: T | null): Date | null => (value === null ? null : time(value));
  const count = (value: Count | null): number | null => (value === null ? null : Number(value));

  return {
    toUser: (r: UserRow<T, F>): User => ({ id: r.id, name: r.username, role: r.role, disabled: flag(r.disabled), createdAt: time(r.created_at) }),

    toPrincipalUser: (r: PrincipalRow<T, F, Count>): User => ({
      id: r.user_id,
      name: r.username,
      role: r.role,
      disabled: flag(r.disabled),
      createdAt: time(r.user_created_at),
    }),

    toKey: (r: KeyRow<T>): ApiKey => ({
      id: r.id,
      keyId: r.key_id,
      userId: r.user_id,
      name: r.name,
      hash: r.key_hash,
      createdAt: time(r.created_at),
      expiresAt: maybeTime(r.expires_at),
      revokedAt: maybeTime(r.revoked_at),
      lastUsedAt: maybeTime(r.last_used_at),
    }),

    toLimits: (r: Omit<LimitsRow<Count>, "user_id">): Limits => ({
      requestsHourly: r.request_limit_hourly,
      requestsDaily: r.request_limit_daily,
      tokensHourly: count(r.token_limit_hourly),
      tokensDaily: count(r.token_limit_daily),
      concurrency: r.concurrency_limit,
    }),

    toUsage: (r: UsageRow<T>): UsageRecord => ({
      id: r.id,
      at: time(r.timestamp),
      userId: r.user_id,
      userName: r.user_name,
      keyId: r.key_id,
      method: r.method,
      endpoint: r.endpoint,
      model: r.model_name,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      durationMs: r.request_duration,
      status: r.status_code,
    }),

    toRollup: (r: RollupRow<T, Count>): UsageRollup => ({
      hour: time(r.hour).toISOString(),
      userName: r.user_name,
      // The rollup key cannot hold NULL, so "no model" is stored as "".
      model: r.model === "" ? null : r.model,
      endpoint: r.endpoint,
      requests: Number(r.requests),
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      errors: Number(r.errors),
    }),
  };
}
