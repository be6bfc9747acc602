/** What every command shares: the global options, the configuration and an open, migrated store. */
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { openStore } from "../store/open.ts";
import type { ApiKey, Store, User } from "../store/store.ts";
import { CommandError } from "./errors.ts";
import { optionText, quote } from "./input.ts";

export interface GlobalOptions {
  config?: unknown;
  json?: boolean;
}

export function cliConfig(options: GlobalOptions): Config {
  return loadConfig({ file: optionText(options.config, "--config") });
}

/**
 * Opens the configured store, brings its schema up to date (so every command works on a fresh
 * store), runs `fn` with the migrations applied now, and closes the store whatever happened.
 */
export async function withStore<T>(
  options: GlobalOptions,
  fn: (store: Store, config: Config, applied: string[]) => Promise<T>,
): Promise<T> {
  const config = cliConfig(options);
  const store = await openStore(config.database);
  try {
    const applied = await store.migrate();
    return await fn(store, config, applied);
  } finally {
    // A failure to close must not hide the command's own result or error.
    await store.close().catch(() => {});
  }
}

export async function requireUser(store: Store, name: string): Promise<User> {
  const user = await store.findUser(name);
  if (!user) throw new CommandError(`unknown user ${quote(name)}`);
  return user;
}

export async function requireKey(store: Store, keyId: string): Promise<ApiKey> {
  const key = await store.findKey(keyId);
  if (!key) throw new CommandError(`unknown key id ${quote(keyId)}`);
  return key;
}
