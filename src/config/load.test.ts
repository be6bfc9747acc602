import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { ConfigError, loadConfig } from "./load.ts";

const dir = tempDir();
afterAll(() => dir.remove());

function withFile(yaml: string, env: Record<string, string> = {}) {
  const file = join(dir.path, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env });
}

function failure(yaml: string, env: Record<string, string> = {}): string {
  try {
    withFile(yaml, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("uses the embedded defaults without a file: SQLite in the data dir, memory limiter, local Ollama, 0.0.0.0:8000", () => {
    const config = loadConfig({ env: { PARALLAMA_CONFIG: undefined } as never, file: undefined });
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 8000, maxBodyBytes: 64 * 1024 * 1024 });
    expect(config.ollama.url).toBe("http://127.0.0.1:11434");
    expect(config.redis).toBeNull();
    expect(config.usage.batchSize).toBe(1024);
  });

  it("reads the seed config: PostgreSQL with a password file, Redis, Ollama host and port", () => {
    const password = join(dir.path, "db_password");
    writeFileSync(password, "s3cret/x\n");
    const config = withFile(`
server: { host: 127.0.0.1, port: 8001, workers: 4 }
database: { host: db.local, port: 5433, name: parallama, user: parallama, password_file: ${password} }
redis: { host: localhost, port: 6379, db: 2 }
ollama: { host: http://localhost, port: 11434 }
logging: { level: INFO, dir: /var/log/parallama, max_size: 100M, backup_count: 10 }
`);
    expect(config.database).toEqual({ driver: "postgres", url: "postgres://parallama:s3cret%2Fx@db.local:5433/parallama", poolSize: 10 });
    expect(config.redis?.url).toBe("redis://localhost:6379/2");
    expect(config.ollama.url).toBe("http://localhost:11434");
    expect(config.logging.level).toBe("info");
    expect(config.usage.batchSize).toBe(1024);
    expect(withFile("usage: { batch_size: 64 }\n", { PARALLAMA_DATABASE_URL: "postgres://x@h/d" }).usage.batchSize).toBe(64);
  });

  it("lets the environment override the file", () => {
    const config = withFile("server: { port: 9000 }\n", {
      PARALLAMA_DATABASE_URL: "sqlite:/tmp/x.db",
      PARALLAMA_REDIS_URL: "redis://127.0.0.1:6379/0",
      PARALLAMA_OLLAMA_URL: "http://10.0.0.5:11434/",
      PARALLAMA_PORT: "9100",
      PARALLAMA_HOST: "::",
      PARALLAMA_DATA_DIR: "/srv/p",
    });
    expect(config.database).toEqual({ driver: "sqlite", path: "/tmp/x.db" });
    expect(config.redis?.url).toBe("redis://127.0.0.1:6379/0");
    expect(config.ollama.url).toBe("http://10.0.0.5:11434");
    expect(config.server).toMatchObject({ port: 9100, host: "::" });
    expect(config.dataDir).toBe("/srv/p");
  });

  it("names the bad key in one line", () => {
    expect(failure("server: { prot: 1 }\n")).toBe("config: unknown key server.prot");
    expect(failure("colour: blue\n")).toBe("config: unknown key colour");
    expect(failure("server: { port: eighty }\n")).toBe('config: server.port must be an integer from 0 to 65535 (got "eighty")');
    expect(failure("redis: { on_error: maybe }\n")).toBe('config: redis.on_error must be one of allow, deny (got "maybe")');
    expect(failure("server: { max_body_size: lots }\n")).toMatch(/^config: server.max_body_size must be a size/);
    expect(failure("metrics: { listen: 9464 }\n")).toMatch(/^config: metrics.listen must be/);
    expect(failure("limits: { default: { requests_hourly: -1 } }\n")).toMatch(/^config: limits.default.requests_hourly must be an integer/);
    expect(failure("server: 5\n")).toBe("config: server must be a mapping");
    expect(failure("", { PARALLAMA_DATABASE_URL: "mysql://x" })).toMatch(/^config: PARALLAMA_DATABASE_URL must start with postgres:\/\/ or sqlite:/);
    expect(failure("", { PARALLAMA_PORT: "http" })).toMatch(/^config: PARALLAMA_PORT must be an integer/);
  });

  it("says when the password file cannot be read", () => {
    const locked = join(dir.path, "locked");
    writeFileSync(locked, "x");
    chmodSync(locked, 0);
    const missing = failure(`database: { host: x, password_file: ${join(dir.path, "nope")} }\n`);
    expect(missing).toMatch(/^config: database.password_file: cannot read .*nope \(ENOENT\)$/);
  });

  it("says when the file is missing or not YAML", () => {
    expect(() => loadConfig({ file: join(dir.path, "absent.yaml"), env: {} })).toThrow(/config file .*absent.yaml: ENOENT/);
    expect(failure("server: [unclosed\n")).toMatch(/invalid YAML/);
  });
});
