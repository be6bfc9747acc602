/** The configuration's shape and defaults. Keys follow the seed config.yaml (snake_case in YAML). */

export interface Config {
  /** Where the config came from: a file path, or "defaults". */
  source: string;
  dataDir: string;
  server: {
    host: string;
    port: number;
    /** Accepted for compatibility with the seed config; one Bun process serves all requests. */
    workers: number;
    maxBodyBytes: number;
    shutdownTimeoutMs: number;
    tls: { cert: string; key: string } | null;
  };
  database:
    | { driver: "sqlite"; path: string }
    | { driver: "postgres"; url: string; poolSize: number };
  redis: {
    url: string;
    prefix: string;
    onError: "allow" | "deny";
  } | null;
  ollama: { url: string };
  logging: {
    level: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
    /** null: JSON lines to stdout. */
    dir: string | null;
    maxSize: string;
    backupCount: number;
  };
  limits: {
    default: {
      requestsHourly: number | null;
      requestsDaily: number | null;
      tokensHourly: number | null;
      tokensDaily: number | null;
      concurrency: number | null;
    };
  };
  auth: { cacheTtlMs: number };
  metrics: { enabled: boolean; listen: { host: string; port: number } | null; perUser: boolean };
  usage: { flushIntervalMs: number; batchSize: number; memoryLimit: number; retentionDays: number };
}

export const DEFAULT_DATA_DIR = "./data";
export const DEFAULT_CONFIG_PATH = "/etc/parallama/config.yaml";
