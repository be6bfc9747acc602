/** Runs `parallama serve` as a real process on a free port, as an operator would. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

const ROOT = new URL("../..", import.meta.url).pathname;
const BUN = join(ROOT, "node_modules/.bin/bun");
const MAIN = join(ROOT, "src/main.ts");

export interface GatewayOptions {
  databaseUrl: string;
  upstreamUrl: string;
  dataDir: string;
  redisUrl?: string;
  /** Extra config sections written to a config file (e.g. { limits: { default: {...} } }). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface GatewayProcess {
  url: string;
  port: number;
  /** The first-run admin key, when this start created the admin. */
  adminKey: string | null;
  readonly stderr: string;
  readonly stdout: string;
  proc: ReturnType<typeof Bun.spawn>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export function gatewayEnv(options: Pick<GatewayOptions, "databaseUrl" | "dataDir" | "redisUrl" | "env">): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    PARALLAMA_DATABASE_URL: options.databaseUrl,
    PARALLAMA_DATA_DIR: options.dataDir,
    ...options.env,
  };
  if (options.redisUrl) env.PARALLAMA_REDIS_URL = options.redisUrl;
  return env;
}

export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const configFile = join(options.dataDir, `config-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(configFile, stringify({ server: { host: "127.0.0.1", port: 0 }, ollama: { url: options.upstreamUrl }, ...options.config }));
  const proc = Bun.spawn([BUN, MAIN, "serve", "--config", configFile], {
    env: gatewayEnv(options),
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  let stdout = "";
  void collect(proc.stdout as ReadableStream<Uint8Array>, (t) => (stdout += t));
  const listening = new Promise<number>((resolve, reject) => {
    void collect(proc.stderr as ReadableStream<Uint8Array>, (t) => {
      stderr += t;
      const m = /listening on https?:\/\/[^:\s]+:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void proc.exited.then((code) => reject(new Error(`gateway exited with ${code} before listening:\n${stderr}`)));
    setTimeout(() => reject(new Error(`gateway did not start within 20 s:\n${stderr}`)), 20_000);
  });
  const port = await listening;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminKey: /(plm_[0-9A-Za-z]{12}_[0-9A-Za-z]{43})/.exec(stderr)?.[1] ?? null,
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    proc,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode == null) proc.kill(signal);
      return proc.exited;
    },
  };
}

async function collect(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) onText(decoder.decode(chunk, { stream: true }));
}
