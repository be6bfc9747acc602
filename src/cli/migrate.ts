/** `parallama migrate`: bring the store's schema up to date (every command also does this first). */
import type { CAC } from "cac";
import { type GlobalOptions, withStore } from "./context.ts";
import { printJson } from "./output.ts";

export function registerMigrateCommand(cli: CAC): void {
  cli.command("migrate", "Apply pending database migrations").action((options: GlobalOptions) =>
    withStore(options, async (store, _config, applied) => {
      if (options.json) return printJson({ driver: store.driver, applied });
      console.log(applied.length ? `applied ${applied.join(", ")}` : `${store.driver} schema is up to date`);
    }),
  );
}
