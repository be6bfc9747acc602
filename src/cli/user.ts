/** `parallama user ...`: create, list, show, disable, enable and delete users. */
import type { CAC } from "cac";
import type { Store, User } from "../store/store.ts";
import { type GlobalOptions, requireUser, withStore } from "./context.ts";
import { CommandError } from "./errors.ts";
import { limitsJson } from "../store/store.ts";
import { keyJson, limitsRows, userJson } from "./format.ts";
import { parseName, quote } from "./input.ts";
import { formatTime, printFields, printJson, printTable } from "./output.ts";

export function registerUserCommands(cli: CAC): void {
  cli
    .command("user create <name>", "Create a user (names: 1-64 of A-Z a-z 0-9 . _ @ -)")
    .option("--admin", "Give the user the admin role")
    .action((name: string, options: GlobalOptions & { admin?: boolean }) => {
      parseName(name);
      return withStore(options, async (store) => {
        if (await store.findUser(name)) throw new CommandError(`user ${quote(name)} already exists`);
        const user = await store.createUser({ name, role: options.admin ? "admin" : "user" });
        if (options.json) printJson(userJson(user));
        else console.log(`created ${user.role} ${user.name}; give them a key with: parallama key create ${user.name}`);
      });
    });

  cli.command("user list", "List users").action((options: GlobalOptions) =>
    withStore(options, async (store) => {
      const users = await store.listUsers();
      if (options.json) return printJson(users.map(userJson));
      printTable(
        ["NAME", "ROLE", "STATUS", "CREATED"],
        users.map((u) => [u.name, u.role, u.disabled ? "disabled" : "enabled", formatTime(u.createdAt)]),
      );
    }),
  );

  cli.command("user show <name>", "Show a user with their keys, limits and allowed models").action((name: string, options: GlobalOptions) => {
    parseName(name);
    return withStore(options, async (store) => showUser(store, await requireUser(store, name), options.json));
  });

  for (const [action, disabled] of [["disable", true], ["enable", false]] as const) {
    cli
      .command(`user ${action} <name>`, disabled ? "Refuse every key of a user until enabled again" : "Let a disabled user's keys work again")
      .action((name: string, options: GlobalOptions) => {
        parseName(name);
        return withStore(options, async (store) => {
          const user = await requireUser(store, name);
          await store.setUserDisabled(user.id, disabled);
          if (options.json) printJson(userJson({ ...user, disabled }));
          else console.log(`${action}d user ${user.name}`);
        });
      });
  }

  cli.command("user delete <name>", "Delete a user and their keys, limits and allowlist (usage history stays)").action((name: string, options: GlobalOptions) => {
    parseName(name);
    return withStore(options, async (store) => {
      const user = await requireUser(store, name);
      const keys = await store.listKeys(user.id);
      await store.deleteUser(user.id);
      if (options.json) printJson({ ...userJson(user), deleted_keys: keys.length });
      else console.log(`deleted user ${user.name} and ${keys.length} key(s); their usage history stays`);
    });
  });
}

async function showUser(store: Store, user: User, json: boolean | undefined): Promise<void> {
  const [keys, limits, models] = await Promise.all([store.listKeys(user.id), store.getLimits(user.id), store.getModels(user.id)]);
  if (json) {
    return printJson({
      ...userJson(user),
      keys: keys.map((k) => keyJson(k, user.name)),
      limits: limits && limitsJson(limits),
      models,
    });
  }
  printFields([
    ["name", user.name],
    ["id", user.id],
    ["role", user.role],
    ["status", user.disabled ? "disabled" : "enabled"],
    ["created", formatTime(user.createdAt)],
    ["limits", limits ? limitsRows(limits).map(([label, value]) => `${value} ${label}`).join(", ") : "config defaults"],
    ["models", models ? models.join(", ") || "none" : "all"],
    ["keys", keys.length],
  ]);
  if (keys.length > 0) {
    console.log();
    printTable(
      ["KEY ID", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
      keys.map((k) => {
        const v = keyJson(k, user.name);
        return [v.id, v.name, v.status, formatTime(k.createdAt), formatTime(k.expiresAt), formatTime(k.lastUsedAt)];
      }),
    );
  }
}
