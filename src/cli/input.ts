/**
 * Parsing and validation of everything typed on the command line. Each command validates its
 * whole input with these before it opens the store, so bad input never causes a partial write.
 */
import { parseDuration } from "../units.ts";
import { isKeyId } from "../keys/key.ts";
import type { Limits } from "../store/store.ts";
import { UsageError } from "./errors.ts";

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
/** Model names as Ollama writes them (`llama3.2:3b`, `hf.co/org/repo:Q4_K_M`); the usage column holds 255. */
const MODEL = /^[\x21-\x7e]{1,255}$/;
const INT32_MAX = 2_147_483_647;

/** Quotes user input for an error message; JSON escapes keep control characters on one line. */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** A user name or key label: 1-64 of A-Z a-z 0-9 . _ @ -. */
export function parseName(text: string, what = "user name"): string {
  if (!NAME.test(text)) throw new UsageError(`invalid ${what} ${quote(text)}: use 1-64 characters from A-Z a-z 0-9 . _ @ -`);
  return text;
}

export function parseKeyId(text: string): string {
  if (!isKeyId(text)) throw new UsageError(`invalid key id ${quote(text)}: a key id is the 12 characters after plm_`);
  return text;
}

export function parseModel(text: string): string {
  if (!MODEL.test(text)) throw new UsageError(`invalid model name ${quote(text)}: 1-255 printable characters without spaces`);
  return text;
}

/**
 * The value of an option that takes one. cac hands over what mri parsed: a number for numeric
 * text, `true` when the value was missing, an array when the option was repeated.
 */
export function optionText(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new UsageError(`${flag} given more than once`);
  if (typeof value === "boolean") throw new UsageError(`${flag} needs a value`);
  return String(value);
}

/** A positive duration such as 30d or 12h, in milliseconds. */
export function parseDurationOption(text: string, flag: string, allowZero = false): number {
  // "0" alone is the natural way to say "no grace"; parseDuration wants a unit.
  const ms = allowZero && text === "0" ? 0 : parseDuration(text);
  if (ms == null || (!allowZero && ms <= 0)) {
    throw new UsageError(`${flag}: ${quote(text)} is not a duration; use a number with a unit, e.g. 90s, 30m, 24h, 30d`);
  }
  return ms;
}

export type LimitField = keyof Limits;

/** A limit: a non-negative integer, or `none` (null: the window is unlimited). */
export function parseLimit(value: unknown, flag: string, field: LimitField): number | null | undefined {
  const text = optionText(value, flag);
  if (text === undefined) return undefined;
  if (text === "none") return null;
  // Request and concurrency columns are 32-bit; token budgets are 64-bit (schema/postgres/0001_init.sql).
  const max = field.startsWith("tokens") ? Number.MAX_SAFE_INTEGER : INT32_MAX;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > max) {
    throw new UsageError(`${flag}: ${quote(text)} is not a limit; use an integer from 0 to ${max}, or none`);
  }
  return n;
}

/**
 * A point in time for report filters: an ISO date or date-time (UTC unless it names a zone),
 * or a duration meaning that long ago (`24h`, `7d`).
 */
export function parseTime(text: string, flag: string, now = Date.now()): Date {
  const ago = parseDuration(text);
  if (ago != null) return new Date(now - ago);
  const m = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  // Date-only strings already parse as UTC; a date-time without a zone would parse as local time.
  const iso = m && text.length > 10 && !m[1] ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T");
  const at = m ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) {
    throw new UsageError(`${flag}: ${quote(text)} is not a time; use an ISO date or time (2026-01-31, 2026-01-31T12:00Z) or a duration ago (24h, 7d)`);
  }
  return at;
}
