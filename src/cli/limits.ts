/** `parallama limits ...`: a user's own request, token and concurrency limits. */
import type { CAC } from "cac";
import type { Config } from "../config/schema.ts";
import type { Limits } from "../store/store.ts";
import { type GlobalOptions, requireUser, withStore } from "./context.ts";
import { UsageError } from "./errors.ts";
import { limitsJson } from "../store/store.ts";
import { limitsRows } from "./format.ts";
import { type LimitField, parseLimit, parseName } from "./input.ts";
import { printJson, printTable } from "./output.ts";

const FLAGS: Array<[LimitField, string, string]> = [
  ["requestsHourly", "--requests-hourly", "Requests per hour"],
  ["requestsDaily", "--requests-daily", "Requests per day"],
  ["tokensHourly", "--tokens-hourly", "Tokens (input + output) per hour"],
  ["tokensDaily", "--tokens-daily", "Tokens (input + output) per day"],
  ["concurrency", "--concurrency", "Requests in flight at once"],
];

export function registerLimitsCommands(cli: CAC): void {
  const set = cli.command("limits set <user>", "Set some of a user's limits (N: a non-negative integer; none: unlimited)");
  for (const [, flag, description] of FLAGS) set.option(`${flag} <N>`, description);
  set.action((name: string, options: GlobalOptions & Partial<Record<LimitField, unknown>>) => {
    parseName(name);
    const changes: Partial<Limits> = {};
    for (const [field, flag] of FLAGS) {
      const value = parseLimit(options[field], flag, field);
      if (value !== undefined) changes[field] = value;
    }
    if (Object.keys(changes).length === 0) throw new UsageError(`limits set: give at least one of ${FLAGS.map(([, f]) => f).join(", ")}`);
    return withStore(options, async (store, config) => {
      const user = await requireUser(store, name);
      printLimits(user.name, await store.setLimits(user.id, changes), config, options.json);
    });
  });

  cli.command("limits show <user>", "Show the limits that apply to a user").action((name: string, options: GlobalOptions) => {
    parseName(name);
    return withStore(options, async (store, config) => {
      const user = await requireUser(store, name);
      printLimits(user.name, await store.getLimits(user.id), config, options.json);
    });
  });

  cli.command("limits clear <user>", "Remove a user's own limits; the config defaults apply again").action((name: string, options: GlobalOptions) => {
    parseName(name);
    return withStore(options, async (store, config) => {
      const user = await requireUser(store, name);
      await store.clearLimits(user.id);
      printLimits(user.name, null, config, options.json);
    });
  });
}

/** A user without their own row gets limits.default from the config as a whole (not field by field). */
function printLimits(user: string, own: Limits | null, config: Config, json: boolean | undefined): void {
  const source = own ? "user" : "default";
  const effective = own ?? config.limits.default;
  if (json) return printJson({ user, source, ...limitsJson(effective) });
  console.log(own ? `limits for ${user}:` : `limits for ${user} (config defaults; the user has none of their own):`);
  printTable(["WINDOW", "LIMIT"], limitsRows(effective));
}
