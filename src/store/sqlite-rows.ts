/** SQLite rows as the Store's types: unix milliseconds become Dates, 0/1 become booleans. */
import type { ApiKey, Limits, Role, UsageRecord, UsageRollup, User } from "./store.ts";

export interface UserRow {
  id: string;
  username: string;
  role: Role;
  disabled: number;
  created_at: number;
}

export interface KeyRow {
  id: string;
  key_id: string;
  user_id: string;
  name: string | null;
  key_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface LimitsRow {
  user_id: string;
  token_limit_hourly: number | null;
  token_limit_daily: number | null;
  request_limit_hourly: number | null;
  request_limit_daily: number | null;
  concurrency_limit: number | null;
}

export type PrincipalRow = KeyRow &
  Omit<LimitsRow, "user_id"> & { username: string; role: Role; disabled: number; user_created_at: number; limits_user_id: string | null };

export interface UsageRow {
  id: string;
  user_id: string | null;
  user_name: string;
  key_id: string | null;
  timestamp: number;
  method: string;
  endpoint: string;
  model_name: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  request_duration: number;
  status_code: number;
}

export interface RollupRow {
  hour: number;
  user_name: string;
  model: string;
  endpoint: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  errors: number;
}

function date(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

export function toUser(r: UserRow): User {
  return { id: r.id, name: r.username, role: r.role, disabled: r.disabled === 1, createdAt: new Date(r.created_at) };
}

export function toKey(r: KeyRow): ApiKey {
  return {
    id: r.id,
    keyId: r.key_id,
    userId: r.user_id,
    name: r.name,
    hash: r.key_hash,
    createdAt: new Date(r.created_at),
    expiresAt: date(r.expires_at),
    revokedAt: date(r.revoked_at),
    lastUsedAt: date(r.last_used_at),
  };
}

export function toLimits(r: Omit<LimitsRow, "user_id">): Limits {
  return {
    requestsHourly: r.request_limit_hourly,
    requestsDaily: r.request_limit_daily,
    tokensHourly: r.token_limit_hourly,
    tokensDaily: r.token_limit_daily,
    concurrency: r.concurrency_limit,
  };
}

export function toUsage(r: UsageRow): UsageRecord {
  return {
    id: r.id,
    at: new Date(r.timestamp),
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
    hour: new Date(r.hour).toISOString(),
    userName: r.user_name,
    model: r.model === "" ? null : r.model,
    endpoint: r.endpoint,
    requests: r.requests,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    errors: r.errors,
  };
}
