/**
 * An Ollama emulator on a real port, for the gateway's tests and benchmark. See README.md for the
 * endpoints, the token counting rule, and the request header and model names that steer it.
 */
import { type EmulatorOptions, resolveOptions } from "./options.ts";
import type { EmulatorStats, RecordedRequest } from "./recorder.ts";
import { serve } from "./server.ts";

export type { EmulatorOptions } from "./options.ts";
export type { EmulatorStats, RecordedRequest } from "./recorder.ts";
export { countPromptTokens, contentTokens } from "./tokens.ts";
export { BUSY_ERROR, MIDSTREAM_ERROR, MODELS } from "./models.ts";
export { OLLAMA_VERSION } from "./native/catalog.ts";

export interface Emulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Every request seen since start or reset (empty in fast mode). */
  readonly requests: RecordedRequest[];
  /** Requests whose response is still being produced. */
  readonly inFlight: number;
  /** Counters kept in every mode. */
  readonly stats: EmulatorStats;
  /** Forgets logged requests, counters, loaded models and blobs. */
  reset(): void;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

/** Starts an emulator; wrong options throw here, not on the first request. */
export async function startEmulator(options?: EmulatorOptions): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const { server, recorder, state } = serve(resolved);
  const port = server.port as number;
  return {
    url: `http://${resolved.hostname}:${port}`,
    port,
    requests: recorder.requests,
    get inFlight() {
      return recorder.stats.inFlight;
    },
    stats: recorder.stats,
    reset() {
      recorder.reset();
      state.reset();
    },
    stop: () => server.stop(true),
  };
}
