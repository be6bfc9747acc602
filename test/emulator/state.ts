/** The little state the emulator keeps between requests: loaded models (for /api/ps) and uploaded blobs. */
import type { ModelInfo } from "./models.ts";

/** How long Ollama keeps a model loaded after its last use by default. */
export const KEEP_ALIVE_MS = 5 * 60 * 1000;

export class EmulatorState {
  /** Model name to the time its keep-alive expires. */
  readonly loaded = new Map<string, { info: ModelInfo; expiresAt: number }>();
  readonly blobs = new Set<string>();

  markLoaded(info: ModelInfo): void {
    this.loaded.set(info.name, { info, expiresAt: Date.now() + KEEP_ALIVE_MS });
  }

  reset(): void {
    this.loaded.clear();
    this.blobs.clear();
  }
}
