/** Stores for the CLI suites: one per driver, the environment a CLI process needs, and snapshots of what it holds. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Config } from "../../src/config/schema.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { type CliResult, cliJson, runCli } from "../support/cli.ts";
import { type Driver, freshPostgres } from "../support/services.ts";
import { tempDir } from "../support/tmp.ts";

export { DRIVERS, type Driver } from "../support/services.ts";

export interface Target {
  driver: Driver;
  database: Config["database"];
  /** PARALLAMA_DATABASE_URL and an empty config file, so no /etc/parallama/config.yaml leaks in. */
  env: Record<string, string>;
  dir: string;
  cli(...args: string[]): Promise<CliResult>;
  /** Runs a command that must succeed with --json and parses what it printed. */
  json<T = any>(...args: string[]): Promise<T>;
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** An empty store of the driver: a new SQLite file, or a fresh PostgreSQL database. */
export async function openTarget(driver: Driver): Promise<Target> {
  const dir = tempDir("parallama-cli-");
  const config = join(dir.path, "config.yaml");
  writeFileSync(config, "# empty: built-in defaults\n");
  const pg = driver === "postgres" ? await freshPostgres() : null;
  const url = pg ? pg.url : `sqlite:${join(dir.path, "parallama.db")}`;
  const database: Config["database"] = pg ? { driver: "postgres", url: pg.url, poolSize: 2 } : { driver: "sqlite", path: join(dir.path, "parallama.db") };
  const env = { PARALLAMA_CONFIG: config, PARALLAMA_DATABASE_URL: url, PARALLAMA_DATA_DIR: dir.path };
  const cli = (...args: string[]) => runCli(args, env);
  return {
    driver,
    database,
    env,
    dir: dir.path,
    cli,
    json: (...args) => cliJson(args, env),
    async withStore(fn) {
      const store = await openStore(database);
      try {
        await store.migrate();
        return await fn(store);
      } finally {
        await store.close();
      }
    },
    async close() {
      await pg?.drop();
      dir.remove();
    },
  };
}

/** Everything the store holds, in a stable order, for "the command changed nothing" checks. */
export async function snapshot(target: Target) {
  return target.withStore(async (store) => {
    const { createdAt: _, ...dump } = await store.dump();
    const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));
    return {
      revision: await store.revision(),
      users: byId(dump.users),
      keys: byId(dump.keys),
      limits: [...dump.limits].sort((a, b) => a.userId.localeCompare(b.userId)),
      models: [...dump.models].sort((a, b) => `${a.userId} ${a.model}`.localeCompare(`${b.userId} ${b.model}`)),
      usage: byId(dump.usage),
      rollups: [...dump.rollups].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    };
  });
}

/** A failed command: nothing on stdout, exactly one `parallama: ...` line on stderr, the expected non-zero exit. */
export function expectFailure(result: CliResult, code: number): string {
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parallama: \S/);
  expect(result.code, result.stderr).toBe(code);
  return lines[0]!;
}
