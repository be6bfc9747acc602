/** PostgreSQL rows as the Store's types: BIGINT arrives as a string, TIMESTAMPTZ as a Date. */
import type { ApiKey, Limits, Role, UsageRecord, UsageRollup, User } from "./store.ts";

type BigIntText = string | number;

export interface UserRow {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: Date;
}

export interface KeyRow {
  id: string;
  key_id: string;
  user_id: string;
  name: string | null;
  key_hash: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface LimitsRow {
  user_id: string;
  token_limit_hourly: BigIntText | null;
  token_limit_daily: BigIntText | null;
  request_limit_hourly: number | null;
  request_limit_daily: number | null;
  concurrency_limit: number | null;
}

export type PrincipalRow = KeyRow &
  Omit<LimitsRow, "user_id"> & {
    username: string;
    role: Role;
    disabled: boolean;
    user_created_at: Date;
    limits_user_id: string | null;
    models: string[];
  };

export interface UsageRow {
  id: string;
  user_id: string | null;
  user_name: string;
  key_id: string | null;
  timestamp: Date;
  method: string;
  endpoint: string;
  model_name: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  request_duration: number;
  status_code: number;
}

export interface RollupRow {
  hour: Date;
  user_name: string;
  model: string;
  endpoint: string;
  requests: BigIntText;
  prompt_tokens: BigIntText;
  completion_tokens: BigIntText;
  errors: BigIntText;
}

function num(value: BigIntText | null): number | null {
  return value === null ? null : Number(value);
}

export function toUser(r: UserRow): User {
  return { id: r.id, name: r.username, role: r.role, disabled: r.disabled, createdAt: r.created_at };
}

export function toKey(r: KeyRow): ApiKey {
  return {
    id: r.id,
    keyId: r.key_id,
    userId: r.user_id,
    name: r.name,
    hash: r.key_hash,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

export function toLimits(r: Omit<LimitsRow, "user_id">): Limits {
  return {
    requestsHourly: r.request_limit_hourly,
    requestsDaily: r.request_limit_daily,
    tokensHourly: num(r.token_limit_hourly),
    tokensDaily: num(r.token_limit_daily),
    concurrency: r.concurrency_limit,
  };
}

export function toPrincipalUser(r: PrincipalRow): User {
  return { id: r.user_id, name: r.username, role: r.role, disabled: r.disabled, createdAt: r.user_created_at };
}

export function toUsage(r: UsageRow): UsageRecord {
  return {
    id: r.id,
    at: r.timestamp,
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
  };
}

export function toRollup(r: RollupRow): UsageRollup {
  return {
    hour: r.hour.toISOString(),
    userName: r.user_name,
    model: r.model === "" ? null : r.model,
    endpoint: r.endpoint,
    requests: Number(r.requests),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    errors: Number(r.errors),
  };
}
