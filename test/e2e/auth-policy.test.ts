/** Who gets in and what they may do: every auth failure, admin-only routes, allowlists, revocation. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, DRIVERS, startWorld, type World } from "./harness.ts";

const CHAT = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }], stream: false });

describe.each(DRIVERS)("authentication and policy (%s)", (driver) => {
  let world: World;
  let key: string;
  const post = (path: string, headers: Record<string, string>, body = CHAT, method = "POST") =>
    fetch(`${world.gateway.url}${path}`, { method, headers: { "content-type": "application/json", ...headers }, body });

  beforeAll(async () => {
    world = await startWorld(driver, { config: { server: { host: "127.0.0.1", port: 0, max_body_size: "64K" } } });
    key = await world.user("dave");
  });
  afterAll(() => world?.close());

  it("accepts the key as Bearer, X-API-Key and HTTP Basic password, and never forwards it", async () => {
    const basic = `Basic ${Buffer.from(`anyone:${key}`).toString("base64")}`;
    // The scheme is case-insensitive and space around the key is not part of it.
    const spelled = [{ authorization: `bearer ${key}` }, { authorization: `Bearer  ${key} ` }];
    for (const headers of [bearer(key), { "x-api-key": key }, { authorization: basic }, ...spelled]) {
      const res = await post("/api/chat", headers);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      await res.json();
    }
    const seen = world.emulator.requests.filter((r) => r.path === "/api/chat");
    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (const r of seen) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers["x-api-key"]).toBeUndefined();
      expect(r.headers.host).toBe(new URL(world.emulator.url).host);
    }
  });

  it("refuses missing, malformed, unknown, revoked and expired keys and disabled users with 401 saying which", async () => {
    const expectRefusal = async (headers: Record<string, string>, message: RegExp, secret?: string) => {
      const res = await post("/api/chat", headers);
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(JSON.parse(text).error).toMatch(message);
      if (secret) expect(text).not.toContain(secret);
    };
    await expectRefusal({}, /missing API key/);
    await expectRefusal(bearer("not-a-key"), /malformed API key/, "not-a-key");
    const unknown = `plm_${"A".repeat(12)}_${"b".repeat(43)}`;
    await expectRefusal(bearer(unknown), /invalid API key/, unknown);
    const wrongSecret = key.slice(0, -1) + (key.endsWith("a") ? "b" : "a");
    await expectRefusal(bearer(wrongSecret), /invalid API key/, wrongSecret);

    const revoked = await world.user("erin");
    expect((await post("/api/chat", bearer(revoked))).status).toBe(200);
    const keyId = revoked.split("_")[1]!;
    expect((await world.cli(["key", "revoke", keyId])).code).toBe(0);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 3000) status = (await post("/api/chat", bearer(revoked))).status;
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    await expectRefusal(bearer(revoked), /revoked/);

    await world.cli(["user", "create", "frank"]);
    const expiring = JSON.parse((await world.cli(["key", "create", "frank", "--expires", "1s", "--json"])).stdout).key;
    await Bun.sleep(1100);
    await expectRefusal(bearer(expiring), /expired/);

    const disabled = await world.user("gina");
    expect((await post("/api/chat", bearer(disabled))).status).toBe(200);
    await world.cli(["user", "disable", "gina"]);
    await Bun.sleep(700);
    await expectRefusal(bearer(disabled), /disabled/);
  });

  it("keeps mutating and account endpoints for admins", async () => {
    const user = await world.user("hank");
    for (const [method, path, body] of [
      ["POST", "/api/pull", '{"model":"llama3.2:1b"}'],
      ["POST", "/api/create", '{"model":"x"}'],
      ["POST", "/api/copy", '{"source":"a","destination":"b"}'],
      ["DELETE", "/api/delete", '{"model":"x"}'],
      ["POST", "/api/blobs/sha256:abc", "data"],
      ["POST", "/api/me", "{}"],
      ["POST", "/api/signout", "{}"],
      ["DELETE", "/api/user/keys/abc", ""],
      ["POST", "/api/experimental/web_search", '{"query":"x"}'],
    ] as const) {
      const res = await post(path, bearer(user), body, method);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await res.json()).error).toMatch(/needs an admin key/);
    }
    const pulled = await post("/api/pull", bearer(world.adminKey), '{"model":"llama3.2:1b","stream":false}');
    expect(pulled.status).toBe(200);
  });

  it("holds a user to their model allowlist, in requests and in listings", async () => {
    const limited = await world.user("ivy", { models: ["qwen2.5:0.5b"] });
    const refused = await post("/api/chat", bearer(limited));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toContain("llama3.2:1b");
    const allowed = await post("/api/chat", bearer(limited), JSON.stringify({ model: "qwen2.5:0.5b", messages: [], stream: false }));
    expect(allowed.status).toBe(200);
    const tags = await (await fetch(`${world.gateway.url}/api/tags`, { headers: bearer(limited) })).json();
    expect(tags.models.map((m: { name: string }) => m.name)).toEqual(["qwen2.5:0.5b"]);
    const openaiRefusal = await post("/v1/chat/completions", bearer(limited), CHAT);
    expect(openaiRefusal.status).toBe(403);
    const body = await openaiRefusal.json();
    expect(body.error.message).toContain("llama3.2:1b");
    expect(body.error.type).toBe("permission_error");
  });

  it("refuses bodies over server.max_body_size with 413", async () => {
    const big = JSON.stringify({ model: "llama3.2:1b", prompt: "x".repeat(70 * 1024) });
    const res = await post("/api/generate", bearer(key), big);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/larger than/);
  });

  it("answers GET / without a key, like Ollama", async () => {
    const res = await fetch(`${world.gateway.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Ollama is running");
  });
  it("throttles repeated failures from one address without touching the store (last: it throttles this address)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const random = `plm_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}_${"c".repeat(43)}`;
      statuses.push((await fetch(`${world.gateway.url}/api/tags`, { headers: bearer(random) })).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.slice(-1)[0]).toBe(429);
  });

});
