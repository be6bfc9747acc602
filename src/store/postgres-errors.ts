/** PostgreSQL failures as StoreErrors: constraint violations by SQLSTATE, and "unavailable" for anything that means the database cannot be used now. */
import { SQL } from "bun";
import { duplicate, missing, type ConstraintMessages } from "./errors.ts";
import { StoreError } from "./store.ts";

/** host:port for messages, never the password. */
export function target(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}`;
  } catch {
    return "(unparseable database URL)";
  }
}

/** SQLSTATE classes meaning "cannot use this database now": connection, auth, missing database, shutdown, too many clients. */
const UNAVAILABLE_STATES = /^(08|28|3D|57P|53)/;

export function translate(error: unknown, messages: ConstraintMessages, where: string): unknown {
  if (!(error instanceof SQL.PostgresError)) return error;
  if (error.errno === "23505") return duplicate(messages, error);
  if (error.errno === "23503") return missing(messages, error);
  const lostConnection = error.errno === undefined && /CONNECTION|TIMEOUT|TLS|AUTH|SASL/.test(error.code);
  if (lostConnection || UNAVAILABLE_STATES.test(error.errno ?? "")) {
    const why = error.code === "ERR_POSTGRES_CONNECTION_REFUSED" ? "connection refused" : error.message;
    return new StoreError("unavailable", `database unreachable: ${where}: ${why}`);
  }
  return error;
}
