/**
 * API keys: `plm_<keyId>_<secret>`.
 * keyId (12 base62 chars) is public, stored in clear and indexed: it finds the row without hashing.
 * secret (43 base62 chars, from 32 random bytes) is stored only as an argon2id hash.
 */
import { hash, verify } from "@node-rs/argon2";

const PREFIX = "plm_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 43; // ceil(256 bits / log2(62)) characters carry all 32 bytes
const KEY_PATTERN = /^plm_([0-9A-Za-z]{12})_([0-9A-Za-z]{43})$/;

/** OWASP's argon2id baseline (19 MiB, 2 passes): a verify costs ~10 ms once per key per cache TTL. */
const ARGON2 = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface ParsedKey {
  keyId: string;
  secret: string;
}

/** Splits a presented key; null when it does not have the Parallama shape. */
export function parseKey(text: string): ParsedKey | null {
  const m = KEY_PATTERN.exec(text);
  return m ? { keyId: m[1]!, secret: m[2]! } : null;
}

export function isKeyId(text: string): boolean {
  return /^[0-9A-Za-z]{12}$/.test(text);
}

export interface NewKey {
  keyId: string;
  /** The whole key, shown to the user once. */
  key: string;
  /** argon2id hash of the secret, the only form stored. */
  hash: string;
}

export async function generateKey(): Promise<NewKey> {
  const keyId = randomBase62(KEY_ID_LENGTH, 9);
  const secret = randomBase62(SECRET_LENGTH, 32);
  return { keyId, key: `${PREFIX}${keyId}_${secret}`, hash: await hashSecret(secret) };
}

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, ARGON2);
}

export async function verifySecret(storedHash: string, secret: string): Promise<boolean> {
  try {
    return await verify(storedHash, secret);
  } catch {
    return false; // a malformed stored hash never authenticates
  }
}

/** `length` base62 characters from a big-endian number built of `bytes` random bytes (no modulo bias). */
function randomBase62(length: number, bytes: number): string {
  let n = 0n;
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) n = (n << 8n) | BigInt(b);
  let out = "";
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}
