/** SQLite rows: times are unix milliseconds, flags 0/1, counts numbers. */
import * as rows from "./rows.ts";

export type UserRow = rows.UserRow<number, number>;
export type KeyRow = rows.KeyRow<number>;
export type LimitsRow = rows.LimitsRow<number>;
export type PrincipalRow = rows.PrincipalRow<number, number, number>;
export type UsageRow = rows.UsageRow<number>;
export type RollupRow = rows.RollupRow<number, number>;

export const { toUser, toPrincipalUser, toKey, toLimits, toUsage, toRollup } = rows.rowMappers({
  time: (ms: number) => new Date(ms),
  flag: (bit: number) => bit === 1,
});
