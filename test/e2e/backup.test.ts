/**
 * Moving a homelab between drivers: a backup taken from one store while its gateway serves,
 * restored into an empty store of the other driver, serves the same keys, limits and history.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { gatewayEnv, startGateway } from "../support/gateway.ts";
import { freshPostgres, type TestDatabase } from "../support/services.ts";
import { tempDir } from "../support/tmp.ts";
import { bearer, type Driver, startWorld } from "./harness.ts";

const CHAT = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "remember me" }], stream: false });

describe.each([
  ["sqlite", "postgres"],
  ["postgres", "sqlite"],
] as Array<[Driver, Driver]>)("backup from %s, restore into %s", (from, to) => {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("keeps every key working and every usage row", async () => {
    const world = await startWorld(from);
    cleanups.push(() => world.close());
    const key = await world.user("sam", { limits: ["--requests-daily", "5"], models: ["llama3.2:1b"] });
    for (let i = 0; i < 3; i++) expect((await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: bearer(key), body: CHAT })).status).toBe(200);
    const before = await world.report(["--by", "user,model"]);

    const file = join(world.dataDir, "parallama.backup");
    const backup = await world.cli(["backup", file]);
    expect(backup.code, backup.stderr).toBe(0);

    const dir = tempDir();
    cleanups.push(() => dir.remove());
    let target = `sqlite:${dir.path}/restored.db`;
    if (to === "postgres") {
      const db: TestDatabase = await freshPostgres();
      cleanups.push(() => db.drop());
      target = db.url;
    }
    const env = gatewayEnv({ databaseUrl: target, dataDir: dir.path });
    const restore = await runCli(["restore", file], env);
    expect(restore.code, restore.stderr).toBe(0);
    expect((await runCli(["restore", file], env)).code).not.toBe(0); // not into a store with data
    const after = JSON.parse((await runCli(["usage", "report", "--by", "user,model", "--format", "json"], env)).stdout);
    expect(after).toEqual(before);

    const restored = await startGateway({ databaseUrl: target, upstreamUrl: world.emulator.url, dataDir: dir.path });
    cleanups.push(() => restored.stop("SIGKILL"));
    expect(restored.adminKey).toBeNull(); // the admin came with the backup
    const ok = await fetch(`${restored.url}/api/chat`, { method: "POST", headers: bearer(key), body: CHAT });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit-limit")).toBe("5");
    expect((await fetch(`${restored.url}/api/tags`, { headers: bearer(world.adminKey) })).status).toBe(200);
    const refused = await fetch(`${restored.url}/api/chat`, { method: "POST", headers: bearer(key), body: CHAT.replace("llama3.2:1b", "qwen2.5:0.5b") });
    expect(refused.status).toBe(403);

  });
});
