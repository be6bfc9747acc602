/**
 * Per-response identity: the id and timestamps a response carries. Outside fast mode each response
 * gets fresh ones; in fast mode they are frozen per key so chunk bytes can be encoded once and reused.
 */
import type { RequestContext } from "./context.ts";
import { goTimestamp, randomDigits, randomHex } from "./http.ts";

export interface Identity {
  /** Random number for ids such as chatcmpl-NNN. */
  id: number;
  /** A second one, for ids such as resp_NNNNNN and msg_NNNNNN. */
  longId: number;
  /** Random hex, for Anthropic's msg_ ids. */
  hexId: string;
  /** Unix seconds, for OpenAI's `created`. */
  unix: number;
  /** Go-style RFC 3339 timestamp, for Ollama's `created_at`. */
  timestamp: string;
  /** Present in fast mode: the key under which chunk frames may be cached. */
  cacheKey?: string;
}

const frozen = new Map<string, Identity>();

export function identityFor(ctx: RequestContext, key: string): Identity {
  if (!ctx.options.fast) return fresh();
  let identity = frozen.get(key);
  if (!identity) {
    identity = { ...fresh(), cacheKey: key };
    frozen.set(key, identity);
  }
  return identity;
}

/** A timestamp for one chunk: fresh per chunk, except in fast mode. */
export function chunkTimestamp(identity: Identity): string {
  return identity.cacheKey === undefined ? goTimestamp() : identity.timestamp;
}

function fresh(): Identity {
  const now = Date.now();
  return {
    id: randomDigits(999),
    longId: randomDigits(999999),
    hexId: randomHex(12),
    unix: Math.floor(now / 1000),
    timestamp: goTimestamp(now),
  };
}
