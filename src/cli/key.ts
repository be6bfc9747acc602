/** `parallama key ...`: create, list, revoke and rotate API keys. The full key is printed once, on creation. */
import type { CAC } from "cac";
import { generateKey } from "../keys/key.ts";
import type { ApiKey, Store, User } from "../store/store.ts";
import { type GlobalOptions, requireKey, requireUser, withStore } from "./context.ts";
import { CommandError } from "./errors.ts";
import { keyJson, keyStatus } from "./format.ts";
import { optionText, parseDurationOption, parseKeyId, parseName } from "./input.ts";
import { formatTime, printFields, printJson, printTable } from "./output.ts";

const DEFAULT_GRACE = "24h";

export function registerKeyCommands(cli: CAC): void {
  cli
    .command("key create <user>", "Create an API key for a user; the key is printed once")
    .option("--name <label>", "A label for the key (1-64 of A-Z a-z 0-9 . _ @ -)")
    .option("--expires <duration>", "Expire the key after this long, e.g. 30d (default: never)")
    .action((userName: string, options: GlobalOptions & { name?: unknown; expires?: unknown }) => {
      parseName(userName);
      const label = optionText(options.name, "--name");
      if (label !== undefined) parseName(label, "key name");
      const expiresAt = expiryFrom(options.expires);
      return withStore(options, async (store) => {
        const user = await requireUser(store, userName);
        printNewKey(await issueKey(store, user, label ?? null, expiresAt), user, options.json);
      });
    });

  cli.command("key list [user]", "List keys, of one user or of all").action((userName: string | undefined, options: GlobalOptions) => {
    if (userName !== undefined) parseName(userName);
    return withStore(options, async (store) => {
      const owner = userName === undefined ? undefined : await requireUser(store, userName);
      const [keys, names] = await Promise.all([store.listKeys(owner?.id), userNames(store)]);
      const views = keys.map((k) => keyJson(k, names.get(k.userId) ?? "?"));
      if (options.json) return printJson(views);
      printTable(
        ["KEY ID", "USER", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
        keys.map((k, i) => [views[i]!.id, views[i]!.user, k.name, views[i]!.status, formatTime(k.createdAt), formatTime(k.expiresAt), formatTime(k.lastUsedAt)]),
      );
    });
  });

  cli.command("key revoke <keyid>", "Revoke a key at once").action((keyId: string, options: GlobalOptions) => {
    parseKeyId(keyId);
    return withStore(options, async (store) => {
      const key = await requireKey(store, keyId);
      // Revoking twice is not an error: the operator's intent already holds, and the first time is kept.
      if (!key.revokedAt) await store.revokeKey(keyId, new Date());
      const revoked = (await store.findKey(keyId))!;
      if (options.json) return printJson(keyJson(revoked, (await userNames(store)).get(key.userId) ?? "?"));
      console.log(key.revokedAt ? `key ${keyId} was already revoked at ${formatTime(key.revokedAt)}` : `revoked key ${keyId}`);
    });
  });

  cli
    .command("key rotate <keyid>", "Create a new key for the same user and name; the old one works until the grace period ends")
    .option("--grace <duration>", `How long the old key keeps working; 0 revokes it at once (default: ${DEFAULT_GRACE})`)
    .option("--expires <duration>", "Expire the new key after this long (default: never)")
    .action((keyId: string, options: GlobalOptions & { grace?: unknown; expires?: unknown }) => {
      parseKeyId(keyId);
      const grace = parseDurationOption(optionText(options.grace, "--grace") ?? DEFAULT_GRACE, "--grace", true);
      const expiresAt = expiryFrom(options.expires);
      return withStore(options, async (store) => {
        const old = await requireKey(store, keyId);
        const status = keyStatus(old);
        if (status !== "active") throw new CommandError(`key ${keyId} is ${status}; create a new one with: parallama key create USER`);
        const user = (await store.listUsers()).find((u) => u.id === old.userId);
        if (!user) throw new CommandError(`key ${keyId} has no user`);
        // The new key exists before the old one is cut short, so a failure in between never leaves the user without a key.
        const fresh = await issueKey(store, user, old.name, expiresAt);
        const now = new Date();
        let oldExpiresAt: Date;
        if (grace === 0) {
          await store.revokeKey(keyId, now);
          oldExpiresAt = now;
        } else {
          // Rotation never lengthens a key's life: an earlier expiry stays.
          const end = new Date(now.getTime() + grace);
          oldExpiresAt = old.expiresAt && old.expiresAt < end ? old.expiresAt : end;
          await store.setKeyExpiry(keyId, oldExpiresAt);
        }
        printNewKey(fresh, user, options.json, { replaces: keyId, oldExpiresAt });
      });
    });
}

function expiryFrom(value: unknown): Date | null {
  const text = optionText(value, "--expires");
  return text === undefined ? null : new Date(Date.now() + parseDurationOption(text, "--expires"));
}

interface IssuedKey {
  row: ApiKey;
  key: string;
}

async function issueKey(store: Store, user: User, name: string | null, expiresAt: Date | null): Promise<IssuedKey> {
  const { keyId, key, hash } = await generateKey();
  return { row: await store.createKey({ userId: user.id, keyId, hash, name, expiresAt }), key };
}

async function userNames(store: Store): Promise<Map<string, string>> {
  return new Map((await store.listUsers()).map((u) => [u.id, u.name]));
}

function printNewKey(issued: IssuedKey, user: User, json: boolean | undefined, rotated?: { replaces: string; oldExpiresAt: Date }): void {
  const { row, key } = issued;
  if (json) {
    const out = { id: row.keyId, key, user: user.name, name: row.name, expires_at: row.expiresAt?.toISOString() ?? null };
    return printJson(rotated ? { ...out, replaces: rotated.replaces, old_expires_at: rotated.oldExpiresAt.toISOString() } : out);
  }
  printFields([
    ["key", key],
    ["id", row.keyId],
    ["user", user.name],
    ["name", row.name],
    ["expires", row.expiresAt ? formatTime(row.expiresAt) : "never"],
    ...(rotated ? ([["replaces", `${rotated.replaces} (works until ${formatTime(rotated.oldExpiresAt)})`]] as Array<[string, string]>) : []),
  ]);
  console.log("\nStore this key now: it is not shown again.");
}
