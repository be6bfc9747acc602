/**
 * Every migration, embedded in the binary. Each dialect lists the same names in the same order;
 * src/store/migrations.test.ts fails when a file in schema/ is missing here.
 */
import postgres0001 from "../../schema/postgres/0001_init.sql" with { type: "text" };
import postgres0002 from "../../schema/postgres/0002_usage_hourly.sql" with { type: "text" };
import postgres0003 from "../../schema/postgres/0003_usage_logs_one_index.sql" with { type: "text" };
import postgres0004 from "../../schema/postgres/0004_usage_logs_no_row_trigger.sql" with { type: "text" };
import postgres0005 from "../../schema/postgres/0005_usage_logs_brin_timestamp.sql" with { type: "text" };
import sqlite0001 from "../../schema/sqlite/0001_init.sql" with { type: "text" };
import sqlite0002 from "../../schema/sqlite/0002_usage_hourly.sql" with { type: "text" };
import sqlite0003 from "../../schema/sqlite/0003_usage_logs_one_index.sql" with { type: "text" };
import sqlite0004 from "../../schema/sqlite/0004_usage_logs_no_row_trigger.sql" with { type: "text" };
import sqlite0005 from "../../schema/sqlite/0005_usage_logs_brin_timestamp.sql" with { type: "text" };

export interface Migration {
  /** The file name without `.sql`, e.g. "0001_init"; recorded in schema_migrations. */
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  { name: "0001_init", sql: postgres0001 },
  { name: "0002_usage_hourly", sql: postgres0002 },
  { name: "0003_usage_logs_one_index", sql: postgres0003 },
  { name: "0004_usage_logs_no_row_trigger", sql: postgres0004 },
  { name: "0005_usage_logs_brin_timestamp", sql: postgres0005 },
];

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  { name: "0001_init", sql: sqlite0001 },
  { name: "0002_usage_hourly", sql: sqlite0002 },
  { name: "0003_usage_logs_one_index", sql: sqlite0003 },
  { name: "0004_usage_logs_no_row_trigger", sql: sqlite0004 },
  { name: "0005_usage_logs_brin_timestamp", sql: sqlite0005 },
];
