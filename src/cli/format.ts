/** The JSON shapes the CLI prints for stored records (snake_case, ISO times, null for "none"). */
import type { ApiKey, Limits, User } from "../store/store.ts";

export function userJson(user: User) {
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
  };
}

export type KeyStatus = "active" | "revoked" | "expired";

export function keyStatus(key: ApiKey, now = new Date()): KeyStatus {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && key.expiresAt <= now) return "expired";
  return "active";
}

/** A key as listed: its public id and metadata, never its hash. */
export function keyJson(key: ApiKey, userName: string) {
  return {
    id: key.keyId,
    user: userName,
    name: key.name,
    status: keyStatus(key),
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
  };
}


const LIMIT_LABELS: Array<[keyof Limits, string]> = [
  ["requestsHourly", "requests per hour"],
  ["requestsDaily", "requests per day"],
  ["tokensHourly", "tokens per hour"],
  ["tokensDaily", "tokens per day"],
  ["concurrency", "concurrent requests"],
];

/** Limits as rows for people: each window and its limit, "unlimited" for none. */
export function limitsRows(limits: Limits): Array<[string, string]> {
  return LIMIT_LABELS.map(([field, label]) => [label, limits[field] == null ? "unlimited" : String(limits[field])]);
}
