/** PostgreSQL rows (Bun SQL): TIMESTAMPTZ arrives as a Date, BOOLEAN as a boolean, BIGINT as a string. */
import * as rows from "./rows.ts";

type BigIntText = string | number;

export type UserRow = rows.UserRow<Date, boolean>;
export type KeyRow = rows.KeyRow<Date>;
export type LimitsRow = rows.LimitsRow<BigIntText>;
export type PrincipalRow = rows.PrincipalRow<Date, boolean, BigIntText> & { models: string[] };

export const { toUser, toPrincipalUser, toKey, toLimits, toUsage, toRollup } = rows.rowMappers({
  time: (at: Date) => at,
  flag: (on: boolean) => on,
});
