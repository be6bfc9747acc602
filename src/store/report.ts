/**
 * Usage arithmetic shared by the drivers: hourly rollups of a batch, and the report query, built
 * once for both dialects so that both answer a report with the same rows in the same order.
 */
import type { ReportGroup, ReportQuery, ReportRow, UsageRecord, UsageRollup } from "./store.ts";

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour holding `at`, in unix milliseconds. */
export function hourStart(at: Date): number {
  return Math.floor(at.getTime() / HOUR_MS) * HOUR_MS;
}

/** The batch summed per (hour, user, model, endpoint), sorted by that key so concurrent upserts lock in one order. */
export function rollupsOf(rows: UsageRecord[]): UsageRollup[] {
  const byKey = new Map<string, UsageRollup>();
  for (const row of rows) {
    // A batch holds a few keys and many rows: the key is cheap, the ISO hour is made once per key.
    const hour = hourStart(row.at);
    const key = `${hour}\u0000${row.userName}\u0000${row.model ?? ""}\u0000${row.endpoint}`;
    let sum = byKey.get(key);
    if (!sum) {
      sum = { hour: new Date(hour).toISOString(), userName: row.userName, model: row.model, endpoint: row.endpoint, requests: 0, promptTokens: 0, completionTokens: 0, errors: 0 };
      byKey.set(key, sum);
    }
    sum.requests += 1;
    sum.promptTokens += row.promptTokens;
    sum.completionTokens += row.completionTokens;
    sum.errors += row.status >= 400 ? 1 : 0;
  }
  return [...byKey.values()].sort(compareRollups);
}

/** Rollup key order (hour, user, model, endpoint): every writer locks the same rows in the same order. */
function compareRollups(a: UsageRollup, b: UsageRollup): number {
  return compareText(a.hour, b.hour) || compareText(a.userName, b.userName) || compareText(a.model ?? "", b.model ?? "") || compareText(a.endpoint, b.endpoint);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How one SQL dialect spells what the report needs. */
export interface ReportDialect {
  /** The n-th (1-based) bind placeholder. */
  placeholder(n: number): string;
  /** A Date as the driver binds a time. */
  time(at: Date): unknown;
  /** SQL giving "YYYY-MM-DD" (UTC) for a time column. */
  day(column: string): string;
  /** SQL giving "YYYY-MM-DDTHH:00:00.000Z" (UTC) for a time column. */
  hour(column: string): string;
}

interface Source {
  table: string;
  time: string;
  model: string;
  requests: string;
  promptTokens: string;
  completionTokens: string;
  errors: string;
}

const RAW: Source = {
  table: "usage_logs",
  time: "timestamp",
  model: "model_name",
  requests: "COUNT(*)",
  promptTokens: "SUM(prompt_tokens)",
  completionTokens: "SUM(completion_tokens)",
  errors: "SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END)",
};

const ROLLUP: Source = {
  table: "usage_hourly",
  time: "hour",
  model: "NULLIF(model, '')",
  requests: "SUM(requests)",
  promptTokens: "SUM(prompt_tokens)",
  completionTokens: "SUM(completion_tokens)",
  errors: "SUM(errors)",
};

function isWholeHour(at: Date | undefined): boolean {
  return at === undefined || at.getTime() % HOUR_MS === 0;
}

/** Rollups answer exactly when the time range falls on hour boundaries; otherwise only raw rows can. */
function sourceFor(query: ReportQuery): Source {
  return isWholeHour(query.since) && isWholeHour(query.until) ? ROLLUP : RAW;
}

function groupExpression(group: ReportGroup, source: Source, dialect: ReportDialect): string {
  switch (group) {
    case "user":
      return "user_name";
    case "model":
      return source.model;
    case "endpoint":
      return "endpoint";
    case "day":
      return dialect.day(source.time);
    case "hour":
      return dialect.hour(source.time);
  }
}

/** The report as one SQL statement; `since` is inclusive, `until` exclusive. */
export function reportSql(query: ReportQuery, dialect: ReportDialect): { text: string; params: unknown[] } {
  const source = sourceFor(query);
  const by = [...new Set(query.by)];
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const where: string[] = [];
  if (query.since) where.push(`${source.time} >= ${bind(dialect.time(query.since))}`);
  if (query.until) where.push(`${source.time} < ${bind(dialect.time(query.until))}`);
  if (query.user !== undefined) where.push(`user_name = ${bind(query.user)}`);
  if (query.model !== undefined) where.push(`${source.model} = ${bind(query.model)}`);
  const groups = by.map((g) => `${groupExpression(g, source, dialect)} AS "${g}"`);
  const measures = [
    `${source.requests} AS requests`,
    `${source.promptTokens} AS prompt_tokens`,
    `${source.completionTokens} AS completion_tokens`,
    `${source.errors} AS errors`,
  ];
  const text = [
    `SELECT ${[...groups, ...measures].join(", ")} FROM ${source.table}`,
    where.length ? `WHERE ${where.join(" AND ")}` : "",
    by.length ? `GROUP BY ${by.map((_, i) => i + 1).join(", ")}` : "",
  ].join(" ");
  return { text, params };
}

function compareGroupValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return String(a) < String(b) ? -1 : 1;
}

/**
 * Database rows as ReportRows: numbers (PostgreSQL returns sums as strings), totals, and an order by
 * the groups in code-point order (PostgreSQL's collation would otherwise differ from SQLite's).
 */
export function finishReport(rows: Record<string, unknown>[], query: ReportQuery): ReportRow[] {
  const by = [...new Set(query.by)];
  return rows
    .map((row) => {
      const groups = Object.fromEntries(by.map((g) => [g, row[g] ?? null]));
      const promptTokens = Number(row.prompt_tokens ?? 0);
      const completionTokens = Number(row.completion_tokens ?? 0);
      return {
        ...groups,
        requests: Number(row.requests ?? 0),
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        errors: Number(row.errors ?? 0),
      } as ReportRow;
    })
    .filter((row) => row.requests > 0)
    .sort((a, b) => {
      for (const g of by) {
        const order = compareGroupValues(a[g], b[g]);
        if (order !== 0) return order;
      }
      return 0;
    });
}
