/** The one place that knows which driver runs: chosen from config, once, at start-up. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import { openPostgresStore } from "./postgres.ts";
import { openSqliteStore } from "./sqlite.ts";
import { StoreError, type Store } from "./store.ts";
import { reason } from "./errors.ts";

export interface OpenOptions {
  /** The gateway's store: work a driver can move off the event loop runs in the background; failures of it are reported here. */
  background?: { onError(err: Error): void };
}

/**
 * Opens the configured store and checks that it answers, so an unreachable database is one
 * StoreError("unavailable") here rather than a failure on the first request. Does not migrate.
 */
export async function openStore(database: Config["database"], options: OpenOptions = {}): Promise<Store> {
  if (database.driver === "sqlite") {
    try {
      mkdirSync(dirname(database.path), { recursive: true });
    } catch (error) {
      throw new StoreError("unavailable", `cannot create the directory for SQLite database ${database.path}: ${reason(error)}`);
    }
    return openSqliteStore(database.path, { backgroundCheckpoints: options.background });
  }
  const store = openPostgresStore(database.url, database.poolSize);
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
