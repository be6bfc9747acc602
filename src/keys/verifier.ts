/**
 * Turns a presented key into a Principal, cheaply on the hot path.
 *
 * - A cache hit (keyed by SHA-256 of the whole key, so no plaintext key stays in memory) costs no
 *   store query and no argon2; only the key's expiry is re-checked.
 * - A miss loads the key with its user, limits and allowlist in one store call; an unknown key id
 *   never costs an argon2 verify. Concurrent misses for one key share one verification.
 * - The store's revision is polled; any admin change (revoke, disable, limits, models) empties the
 *   cache, so running gateways see it within one poll interval.
 * - Failures are counted per client address and per key id; past the budget, attempts are refused
 *   without touching the store or argon2 until the window passes.
 */
import type { Principal, Store } from "../store/store.ts";
import { parseKey, verifySecret } from "./key.ts";

export type VerifyFailure = "malformed" | "unknown" | "revoked" | "expired" | "disabled" | "throttled";
export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: VerifyFailure };

export interface VerifierOptions {
  cacheTtlMs: number;
  pollIntervalMs?: number;
  /** Failed attempts allowed per client address and per key id in one window. */
  failureBudget?: number;
  failureWindowMs?: number;
  onError?: (err: unknown) => void;
}

interface CacheEntry {
  /** The answer for a hit, built once. */
  verified: Extract<VerifyResult, { ok: true }>;
  until: number;
}

export class KeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<VerifyResult>>();
  private readonly failures = new FailureCounter();
  private readonly poller: ReturnType<typeof setInterval>;
  private readonly failureBudget: number;
  private readonly failureWindowMs: number;

  /** Reads the store's revision first, so a change made any time after start empties the cache. */
  static async start(store: Store, options: VerifierOptions): Promise<KeyVerifier> {
    return new KeyVerifier(store, options, await store.revision());
  }

  private constructor(
    private readonly store: Store,
    private readonly options: VerifierOptions,
    private revision: number,
  ) {
    this.failureBudget = options.failureBudget ?? 30;
    this.failureWindowMs = options.failureWindowMs ?? 60_000;
    this.poller = setInterval(() => void this.pollRevision(), options.pollIntervalMs ?? 500);
    this.poller.unref();
  }

  /**
   * A cached key is answered at once, without a promise (the hot path); clientAddress is asked for
   * only when the key is not cached (it feeds the failure throttle).
   */
  verify(presented: string, clientAddress: () => string): VerifyResult | Promise<VerifyResult> {
    const digest = sha256(presented);
    const hit = this.cache.get(digest);
    const now = Date.now();
    if (hit && hit.until > now) {
      const expiresAt = hit.verified.principal.key.expiresAt;
      if (expiresAt && expiresAt.getTime() <= now) return { ok: false, reason: "expired" };
      return hit.verified;
    }
    return this.verifyMiss(presented, digest, clientAddress(), now);
  }

  private async verifyMiss(presented: string, digest: string, address: string, now: number): Promise<VerifyResult> {
    if (this.failures.exceeded(address, this.failureBudget, now)) return { ok: false, reason: "throttled" };
    let result = this.pending.get(digest);
    if (!result) {
      result = this.verifyUncached(presented, digest).finally(() => this.pending.delete(digest));
      this.pending.set(digest, result);
    }
    const outcome = await result;
    if (!outcome.ok && outcome.reason !== "throttled") this.failures.add(address, now, this.failureWindowMs);
    return outcome;
  }

  /** Empties the cache now (the CLI's changes reach it through the revision poll). */
  invalidate(): void {
    this.cache.clear();
  }

  close(): void {
    clearInterval(this.poller);
  }

  private async verifyUncached(presented: string, digest: string): Promise<VerifyResult> {
    const parsed = parseKey(presented);
    if (!parsed) return { ok: false, reason: "malformed" };
    const now = Date.now();
    if (this.failures.exceeded(`key:${parsed.keyId}`, this.failureBudget, now)) return { ok: false, reason: "throttled" };
    const principal = await this.store.loadPrincipal(parsed.keyId);
    if (!principal) return { ok: false, reason: "unknown" };
    if (!(await verifySecret(principal.key.hash, parsed.secret))) {
      this.failures.add(`key:${parsed.keyId}`, now, this.failureWindowMs);
      return { ok: false, reason: "unknown" };
    }
    const refusal = refusalOf(principal, now);
    if (refusal) return { ok: false, reason: refusal };
    const verified = { ok: true, principal } as const;
    this.cache.set(digest, { verified, until: now + this.options.cacheTtlMs });
    return verified;
  }

  private async pollRevision(): Promise<void> {
    try {
      const current = await this.store.revision();
      if (current !== this.revision) {
        this.cache.clear();
        this.revision = current;
      }
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}

function refusalOf(principal: Principal, now: number): VerifyFailure | null {
  if (principal.key.revokedAt && principal.key.revokedAt.getTime() <= now) return "revoked";
  if (principal.key.expiresAt && principal.key.expiresAt.getTime() <= now) return "expired";
  if (principal.user.disabled) return "disabled";
  return null;
}

function sha256(text: string): string {
  return Bun.CryptoHasher.hash("sha256", text, "base64");
}

/** Fixed-window failure counts per subject, pruned as windows end. */
class FailureCounter {
  private readonly windows = new Map<string, { count: number; until: number }>();

  exceeded(subject: string, budget: number, now: number): boolean {
    const w = this.windows.get(subject);
    if (!w) return false;
    if (w.until <= now) {
      this.windows.delete(subject);
      return false;
    }
    return w.count >= budget;
  }

  add(subject: string, now: number, windowMs: number): void {
    const w = this.windows.get(subject);
    if (w && w.until > now) w.count++;
    else this.windows.set(subject, { count: 1, until: now + windowMs });
    if (this.windows.size > 100_000) this.prune(now);
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.until <= now) this.windows.delete(k);
  }
}
