/**
 * One end-to-end world: the Ollama emulator, a real store (SQLite file or fresh PostgreSQL
 * database), optionally Redis, and `parallama serve` as a process, administered with the CLI.
 */
import { type Emulator, type EmulatorOptions, startEmulator } from "../emulator/index.ts";
import { cliJson, runCli } from "../support/cli.ts";
import { type GatewayProcess, gatewayEnv, startGateway } from "../support/gateway.ts";
import { type Driver, freshPostgres, REDIS_URL, redisPrefix, type TestDatabase } from "../support/services.ts";
import { tempDir } from "../support/tmp.ts";

export { DRIVERS, type Driver } from "../support/services.ts";

export interface WorldOptions {
  emulator?: EmulatorOptions;
  redis?: boolean;
  config?: Record<string, unknown>;
  /** Log to <dataDir>/logs/parallama.log instead of stdout. */
  logToFile?: boolean;
  /** Route the store through this URL instead (e.g. a TCP proxy in front of PostgreSQL). */
  databaseUrl?: (url: string) => Promise<string> | string;
}

export interface World {
  driver: Driver;
  emulator: Emulator;
  gateway: GatewayProcess;
  /** Environment for CLI processes that work on the same store. */
  env: Record<string, string>;
  adminKey: string;
  databaseUrl: string;
  dataDir: string;
  logFile: string | null;
  /** Creates a user (and optional limits/allowlist) and returns a fresh key for it. */
  user(name: string, options?: { admin?: boolean; limits?: string[]; models?: string[] }): Promise<string>;
  cli(args: string[]): ReturnType<typeof runCli>;
  /** The usage report as the CLI prints it with --format json, once every row has been flushed. */
  report(args?: string[]): Promise<ReportRow[]>;
  /** Starts another gateway on the same store (and Redis prefix). */
  another(config?: Record<string, unknown>): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export interface ReportRow {
  user: string;
  model: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  errors: number;
}

export async function startWorld(driver: Driver, options: WorldOptions = {}): Promise<World> {
  const dir = tempDir();
  const emulator = await startEmulator(options.emulator);
  let database: TestDatabase | null = null;
  let databaseUrl = `sqlite:${dir.path}/parallama.db`;
  if (driver === "postgres") {
    database = await freshPostgres();
    databaseUrl = database.url;
  }
  const storeUrl = databaseUrl;
  const gatewayDatabaseUrl = options.databaseUrl ? await options.databaseUrl(databaseUrl) : databaseUrl;
  const prefix = redisPrefix();
  const redisUrl = options.redis ? REDIS_URL : undefined;
  const logging = options.logToFile ? { logging: { level: "info", dir: `${dir.path}/logs` } } : {};
  const config = { usage: { flush_interval: "100ms" }, ...logging, ...(options.redis ? { redis: { url: REDIS_URL, prefix } } : {}), ...options.config };
  const gateways: GatewayProcess[] = [];
  const launch = async (extra?: Record<string, unknown>) => {
    const gw = await startGateway({ databaseUrl: gatewayDatabaseUrl, upstreamUrl: emulator.url, dataDir: dir.path, config: { ...config, ...extra }, redisUrl: undefined });
    gateways.push(gw);
    return gw;
  };
  const gateway = await launch();
  if (!gateway.adminKey) throw new Error(`first start printed no admin key:\n${gateway.stderr}`);
  const env = gatewayEnv({ databaseUrl: storeUrl, dataDir: dir.path, redisUrl });

  const world: World = {
    driver,
    emulator,
    gateway,
    env,
    adminKey: gateway.adminKey,
    databaseUrl: storeUrl,
    dataDir: dir.path,
    logFile: options.logToFile ? `${dir.path}/logs/parallama.log` : null,
    async user(name, opts = {}) {
      await cliJson(["user", "create", name, ...(opts.admin ? ["--admin"] : [])], env);
      if (opts.limits) await cliJson(["limits", "set", name, ...opts.limits], env);
      if (opts.models) await mustRun(["models", "set", name, ...opts.models], env);
      const created = await cliJson<{ key: string }>(["key", "create", name], env);
      return created.key;
    },
    cli: (args) => runCli(args, env),
    async report(args = ["--by", "user,model"]) {
      await Bun.sleep(400); // two flush intervals of the gateway's recorder
      const result = await runCli(["usage", "report", ...args, "--format", "json"], env);
      if (result.code !== 0) throw new Error(`usage report failed: ${result.stderr}`);
      return JSON.parse(result.stdout) as ReportRow[];
    },
    another: launch,
    async close() {
      await Promise.all(gateways.map((g) => g.stop("SIGKILL")));
      await emulator.stop();
      await database?.drop();
      dir.remove();
    },
  };
  return world;
}

async function mustRun(args: string[], env: Record<string, string>): Promise<void> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`parallama ${args.join(" ")} failed: ${result.stderr}`);
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
