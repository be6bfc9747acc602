/**
 * Emulator options: fixed at start, and overridable per request through the `x-emulator` header
 * (a JSON object with any of `chunks`, `chunkDelayMs`, `firstTokenDelayMs`).
 */

export interface EmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to bind; default 127.0.0.1 (loopback, so the Host check applies as in real Ollama). */
  hostname?: string;
  /** Content tokens per generation (eval_count); default 5. */
  chunks?: number;
  /** Gap between two content chunks of a stream, in ms; default 0. */
  chunkDelayMs?: number;
  /** Wait before the first chunk (model load); no header is sent during it, as in Ollama; default 0. */
  firstTokenDelayMs?: number;
  /** Benchmark mode: no delays, no request log, cached chunk bytes (frozen ids and timestamps). */
  fast?: boolean;
}

/** How one generation behaves; the per-request view of the options. */
export interface Behaviour {
  chunks: number;
  chunkDelayMs: number;
  firstTokenDelayMs: number;
}

export interface ResolvedOptions extends Behaviour {
  port: number;
  hostname: string;
  fast: boolean;
}

const BEHAVIOUR_KEYS = ["chunks", "chunkDelayMs", "firstTokenDelayMs"] as const;

/** Validates options once, at start, so a bad value fails there and not on the first request. */
export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const fast = options.fast ?? false;
  const resolved: ResolvedOptions = {
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    fast,
    chunks: options.chunks ?? 5,
    chunkDelayMs: fast ? 0 : (options.chunkDelayMs ?? 0),
    firstTokenDelayMs: fast ? 0 : (options.firstTokenDelayMs ?? 0),
  };
  for (const key of ["port", ...BEHAVIOUR_KEYS] as const) assertCount(key, resolved[key]);
  return resolved;
}

/** A malformed `x-emulator` header: the server answers 400 with this message. */
export class EmulatorHeaderError extends Error {}

/** The behaviour for one request: the options, then the model's own, then the `x-emulator` header. */
export function requestBehaviour(base: Behaviour, modelOverrides: Partial<Behaviour>, header: string | null): Behaviour {
  const behaviour = { ...pick(base), ...modelOverrides };
  if (header === null) return behaviour;
  try {
    const parsed: unknown = JSON.parse(header);
    if (typeof parsed !== "object" || parsed === null) throw new Error("must be a JSON object");
    for (const key of BEHAVIOUR_KEYS) {
      const value = (parsed as Record<string, unknown>)[key];
      if (value === undefined) continue;
      assertCount(key, value);
      behaviour[key] = value;
    }
  } catch (error) {
    throw new EmulatorHeaderError(`x-emulator header: ${(error as Error).message}`);
  }
  return behaviour;
}

function pick(base: Behaviour): Behaviour {
  return { chunks: base.chunks, chunkDelayMs: base.chunkDelayMs, firstTokenDelayMs: base.firstTokenDelayMs };
}

function assertCount(key: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new Error(`emulator option ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
}
