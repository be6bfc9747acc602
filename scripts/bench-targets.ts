/**
 * The processes under test, each started fresh for one bench run and stopped at its end:
 * the emulator (fast mode), nginx as a plain reverse proxy, and Parallama on either store.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { startGateway, type GatewayProcess } from "../test/support/gateway.ts";
import { cliJson, runCli } from "../test/support/cli.ts";
import { freshPostgres, REDIS_URL, type TestDatabase } from "../test/support/services.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BUN = join(ROOT, "node_modules/.bin/bun");

export interface Target {
  name: string;
  url: string;
  /** The proxy's process (nginx master; its worker is a child); null for direct. */
  pid: number | null;
  /** Headers each request carries (the key for Parallama). */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `parallama-bench-${prefix}-`));
}

export async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(err)}`);
      await Bun.sleep(50);
    }
  }
}

export interface EmulatorProcess {
  url: string;
  pid: number;
  stats(): Promise<{ requests: number; inFlight: number; aborted: number; finished: number }>;
  stop(): Promise<void>;
}

/** The emulator in its own process, fast mode (no delays, no request log, cached chunk bytes). */
export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const port = await freePort();
  const proc = Bun.spawn([BUN, join(ROOT, "test/emulator/main.ts"), "--port", String(port), "--fast"], { stdout: "ignore", stderr: "inherit" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/api/version`, 15_000);
  return {
    url,
    pid: proc.pid,
    stats: async () => (await fetch(`${url}/_emulator/stats`)).json() as never,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export function direct(emulator: EmulatorProcess): Target {
  return { name: "direct", url: emulator.url, pid: null, headers: {}, stop: async () => {} };
}

/**
 * nginx as the floor for any proxy: one worker (one core of two: the load generator and the
 * emulator need the other), keepalive to the upstream, no buffering so streams pass chunk by
 * chunk, no access log, no auth.
 */
export async function startNginx(emulator: EmulatorProcess): Promise<Target> {
  const dir = tempDir("nginx");
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub), { mode: 0o777 });
  const port = await freePort();
  const upstream = new URL(emulator.url);
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream emulator {
    server ${upstream.host};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = Bun.spawn(["nginx", "-p", dir, "-c", join(dir, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/api/version`, 10_000);
  } catch (err) {
    proc.kill();
    throw new Error(`nginx did not start: ${readFileSafe(join(dir, "error.log"))} ${String(err)}`);
  }
  return {
    name: "nginx",
    url,
    pid: proc.pid,
    headers: {},
    stop: async () => {
      proc.kill("SIGQUIT");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bare Bun proxy of scripts/bench-floor.ts: Bun.serve + fetch and nothing else. */
export function startBunFloor(emulator: EmulatorProcess): Promise<Target> {
  return startScript("bun-floor", "scripts/bench-floor.ts", emulator);
}

/** The byte pipe of scripts/bench-pipe.ts: Bun.listen + Bun.connect, nothing read. */
export function startBunPipe(emulator: EmulatorProcess): Promise<Target> {
  return startScript("bun-pipe", "scripts/bench-pipe.ts", emulator);
}

async function startScript(name: string, script: string, emulator: EmulatorProcess): Promise<Target> {
  const port = await freePort();
  const proc = Bun.spawn([BUN, join(ROOT, script), String(port), emulator.url], {
    stdout: "ignore",
    stderr: "inherit",
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "1024" },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/api/version`, 10_000);
  } catch (err) {
    proc.kill();
    throw err;
  }
  return {
    name,
    url,
    pid: proc.pid,
    headers: {},
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** High enough that no limit triggers during the bench, low enough to be real numbers the limiter checks. */
const NO_TRIGGER = ["--requests-hourly", "1000000000", "--requests-daily", "1000000000", "--tokens-hourly", "1000000000000", "--tokens-daily", "1000000000000", "--concurrency", "100000"];

/**
 * Parallama as shipped: logging level info to a file in logging.dir (as the RPM's config does),
 * metrics on, BUN_CONFIG_MAX_HTTP_REQUESTS=1024 as the systemd unit sets it. One user with every
 * limit set (so the limiter does all its work) and one key.
 */
export async function startParallama(emulator: EmulatorProcess, store: "sqlite" | "postgres", extraEnv: Record<string, string> = {}): Promise<Target> {
  const dataDir = tempDir(`parallama-${store}`);
  let db: TestDatabase | null = null;
  let databaseUrl = `sqlite:${join(dataDir, "parallama.db")}`;
  const prefix = `parallama_bench:${randomUUID()}:`;
  if (store === "postgres") {
    db = await freshPostgres();
    databaseUrl = db.url;
  }
  const env = { PARALLAMA_DATABASE_URL: databaseUrl, PARALLAMA_DATA_DIR: dataDir };
  const migrate = await runCli(["migrate"], env);
  if (migrate.code !== 0) throw new Error(`parallama migrate: ${migrate.stderr}`);
  await cliJson(["user", "create", "bench"], env);
  const key = await cliJson<{ key: string }>(["key", "create", "bench"], env);
  const limits = await runCli(["limits", "set", "bench", ...NO_TRIGGER], env);
  if (limits.code !== 0) throw new Error(`parallama limits set: ${limits.stderr}`);

  const gateway: GatewayProcess = await startGateway({
    databaseUrl,
    upstreamUrl: emulator.url,
    dataDir,
    redisUrl: store === "postgres" ? REDIS_URL : undefined,
    config: {
      logging: { level: "info", dir: join(dataDir, "log") },
      ...(store === "postgres" ? { redis: { prefix } } : {}),
    },
    env: { BUN_CONFIG_MAX_HTTP_REQUESTS: "1024", ...extraEnv },
  });
  return {
    name: store === "sqlite" ? "parallama-sqlite" : "parallama-postgres",
    url: gateway.url,
    pid: gateway.proc.pid,
    headers: { authorization: `Bearer ${key.key}` },
    stop: async () => {
      await gateway.stop("SIGTERM");
      if (store === "postgres") {
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`{${prefix}*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
      }
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
