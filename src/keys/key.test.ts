import { describe, expect, it } from "vitest";
import { generateKey, parseKey, verifySecret } from "./key.ts";

describe("keys", () => {
  it("generates keys that parse and verify, and stores no secret in the hash", async () => {
    const k = await generateKey();
    const parsed = parseKey(k.key);
    expect(parsed?.keyId).toBe(k.keyId);
    expect(k.hash.startsWith("$argon2id$")).toBe(true);
    expect(k.hash.includes(parsed!.secret)).toBe(false);
    expect(await verifySecret(k.hash, parsed!.secret)).toBe(true);
    expect(await verifySecret(k.hash, parsed!.secret.replace(/.$/, (c) => (c === "a" ? "b" : "a")))).toBe(false);
  });

  it("gives every key a distinct id and secret", async () => {
    const a = await generateKey();
    const b = await generateKey();
    expect(a.keyId).not.toBe(b.keyId);
    expect(a.key).not.toBe(b.key);
  });

  it("rejects malformed keys", () => {
    for (const bad of ["", "plm_", "sk-abc", "plm_short_secret", `plm_${"a".repeat(12)}_${"b".repeat(42)}`, `plm_${"a".repeat(12)}_${"b".repeat(43)}x`])
      expect(parseKey(bad)).toBeNull();
  });

  it("never verifies against a malformed hash", async () => {
    expect(await verifySecret("not-a-hash", "x")).toBe(false);
  });
});
