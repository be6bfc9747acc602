/** `parallama models ...`: a user's model allowlist (none: every model is allowed). */
import type { CAC } from "cac";
import { type GlobalOptions, requireUser, withStore } from "./context.ts";
import { UsageError } from "./errors.ts";
import { parseModel, parseName } from "./input.ts";
import { printJson } from "./output.ts";

export function registerModelsCommands(cli: CAC): void {
  cli
    .command("models set <user> [...models]", "Allow a user only these models, or every model with --all")
    .option("--all", "Allow every model (removes the allowlist)")
    .action((name: string, models: string[], options: GlobalOptions & { all?: boolean }) => {
      parseName(name);
      if (options.all && models.length > 0) throw new UsageError("models set: give models or --all, not both");
      if (!options.all && models.length === 0) throw new UsageError("models set: give at least one model, or --all");
      const allowed = options.all ? null : [...new Set(models.map(parseModel))];
      return withStore(options, async (store) => {
        const user = await requireUser(store, name);
        await store.setModels(user.id, allowed);
        printModels(user.name, allowed, options.json);
      });
    });

  cli.command("models show <user>", "Show a user's model allowlist").action((name: string, options: GlobalOptions) => {
    parseName(name);
    return withStore(options, async (store) => {
      const user = await requireUser(store, name);
      printModels(user.name, await store.getModels(user.id), options.json);
    });
  });
}

function printModels(user: string, models: string[] | null, json: boolean | undefined): void {
  if (json) return printJson({ user, models });
  if (!models) return console.log(`${user} may use every model`);
  console.log(`${user} may use:`);
  for (const model of models) console.log(`  ${model}`);
}
