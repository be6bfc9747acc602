/** Runs migrate() in its own process for the concurrency case of the store contract; prints the names it applied. */
import type { Config } from "../../src/config/schema.ts";
import { openStore } from "../../src/store/open.ts";

const store = await openStore(JSON.parse(process.argv[2]!) as Config["database"]);
const applied = await store.migrate();
await store.close();
process.stdout.write(JSON.stringify(applied));
