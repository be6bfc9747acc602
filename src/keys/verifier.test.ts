import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/tmp.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { generateKey } from "./key.ts";
import { KeyVerifier } from "./verifier.ts";

describe("KeyVerifier", () => {
  const dir = tempDir();
  let store: Store;
  let loads = 0;
  let counted: Store;
  let key: string;
  let keyId: string;
  const address = () => "10.0.0.1";

  beforeAll(async () => {
    store = await openStore({ driver: "sqlite", path: `${dir.path}/v.db` });
    await store.migrate();
    const user = await store.createUser({ name: "vic", role: "user" });
    const made = await generateKey();
    key = made.key;
    keyId = made.keyId;
    await store.createKey({ userId: user.id, keyId, hash: made.hash, name: null, expiresAt: null });
    // The real store, with its key lookups counted.
    counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "loadPrincipal") return (id: string) => (loads++, target.loadPrincipal(id));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  });
  afterAll(async () => {
    await store.close();
    dir.remove();
  });

  it("verifies once, then answers from the cache without the store", async () => {
    const verifier = await KeyVerifier.start(counted, { cacheTtlMs: 60_000, pollIntervalMs: 20 });
    loads = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(key, address)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(loads).toBe(1); // concurrent misses share one verification
    await verifier.verify(key, address);
    expect(loads).toBe(1);
    verifier.close();
  });

  it("refuses a revoked key once the store's revision moves", async () => {
    const verifier = await KeyVerifier.start(counted, { cacheTtlMs: 60_000, pollIntervalMs: 20 });
    expect((await verifier.verify(key, address)).ok).toBe(true);
    await store.revokeKey(keyId, new Date());
    await Bun.sleep(80);
    expect(await verifier.verify(key, address)).toEqual({ ok: false, reason: "revoked" });
    verifier.close();
  });

  it("throttles an address after its failure budget without asking the store", async () => {
    const verifier = await KeyVerifier.start(counted, { cacheTtlMs: 60_000, failureBudget: 3, failureWindowMs: 60_000 });
    const unknown = `plm_${"Z".repeat(12)}_${"y".repeat(43)}`;
    for (let i = 0; i < 3; i++) expect(await verifier.verify(unknown, address)).toEqual({ ok: false, reason: "unknown" });
    loads = 0;
    expect(await verifier.verify(unknown, address)).toEqual({ ok: false, reason: "throttled" });
    expect(loads).toBe(0);
    expect((await verifier.verify("plm_bad", () => "10.0.0.2")).ok).toBe(false); // another address is not throttled
    verifier.close();
  });
});
