/** `parallama backup FILE` and `parallama restore FILE`: a portable dump, from and into either driver. */
import type { CAC } from "cac";
import { type BackupCounts, readBackup, writeBackup } from "../store/backup.ts";
import { StoreError } from "../store/store.ts";
import { type GlobalOptions, withStore } from "./context.ts";
import { CommandError } from "./errors.ts";
import { printJson } from "./output.ts";

export function registerBackupCommands(cli: CAC): void {
  cli.command("backup <file>", "Write users, key hashes, limits, allowlists and usage to FILE (safe while serving)").action((file: string, options: GlobalOptions) =>
    withStore(options, async (store) => {
      const counts = await writeBackup(store, file);
      if (options.json) return printJson({ file, driver: store.driver, counts });
      console.log(`wrote ${file} from ${store.driver}: ${summary(counts)}`);
    }),
  );

  cli
    .command("restore <file>", "Load a backup into an empty store (of either driver)")
    .option("--force", "Replace everything in a store that already has data")
    .action(async (file: string, options: GlobalOptions & { force?: boolean }) => {
      // The whole file is read and checked before the store is touched: a bad file changes nothing.
      const dump = await readBackup(file);
      await withStore(options, async (store) => {
        try {
          await store.restore(dump, { force: options.force === true });
        } catch (err) {
          if (err instanceof StoreError && err.code === "not_empty") {
            throw new CommandError(`the ${store.driver} store already has data; restore --force replaces all of it`);
          }
          throw err;
        }
        const counts = Object.fromEntries(COUNTED.map((t) => [t, dump[t].length])) as BackupCounts;
        if (options.json) return printJson({ file, driver: store.driver, counts });
        console.log(`restored ${file} into ${store.driver}: ${summary(counts)}`);
      });
    });
}

const COUNTED = ["users", "keys", "limits", "models", "usage", "rollups"] as const satisfies ReadonlyArray<keyof BackupCounts>;

function summary(counts: BackupCounts): string {
  return `${counts.users} users, ${counts.keys} keys, ${counts.limits} limits, ${counts.models} allowed models, ${counts.usage} usage rows, ${counts.rollups} hourly rollups`;
}
