/**
 * `npm run bench -- --profile WORKLOAD [--store sqlite|postgres] [--duration S]`: Parallama under wrk
 * saturation with Bun's sampling profiler on (100 µs interval), the profile written as markdown
 * (`bun --cpu-prof-md`: self and total time per function) to .bench/profile-STORE-WORKLOAD.md
 * or --out FILE.
 * The profile is of the JS thread: native frames (Bun's HTTP server and fetch) show as [native code].
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PURGE_DELAY_MS } from "../src/server/allocator.ts";
import { startEmulatorProcess, startParallama, tempDir } from "./bench-targets.ts";
import { WORKLOADS } from "./bench-workloads.ts";
import { wrk } from "./bench-wrk.ts";

export async function profile(workloadName: string, store: "sqlite" | "postgres", seconds: number, outFile?: string): Promise<string> {
  const workload = WORKLOADS.find((w) => w.name === workloadName);
  if (!workload) throw new Error(`--profile: unknown workload "${workloadName}" (${WORKLOADS.map((w) => w.name).join(", ")})`);
  const dir = tempDir("profile");
  const emulator = await startEmulatorProcess();
  try {
    // The delay set here spares serve its re-exec, which the running profiler would not survive.
    const target = await startParallama(emulator, store, { BUN_OPTIONS: `--cpu-prof-md --cpu-prof-interval=100 --cpu-prof-dir=${dir}`, MIMALLOC_PURGE_DELAY: PURGE_DELAY_MS });
    try {
      await wrk({ url: target.url, workload, headers: target.headers, connections: 50, durationS: 2 });
      await wrk({ url: target.url, workload, headers: target.headers, connections: 50, durationS: seconds });
    } finally {
      await target.stop(); // the profile is written when the gateway exits
    }
  } finally {
    await emulator.stop();
  }
  const written = readdirSync(dir).filter((f) => f.endsWith(".md"));
  if (written.length !== 1) throw new Error(`--profile: expected one profile in ${dir}, found ${written.length}`);
  const out = resolve(outFile ?? `.bench/profile-${store}-${workload.name}.md`);
  mkdirSync(dirname(out), { recursive: true });
  copyFileSync(join(dir, written[0]!), out);
  rmSync(dir, { recursive: true, force: true });
  return out;
}
