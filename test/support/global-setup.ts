/**
 * Vitest global setup: builds dist/parallama once per test run, before any suite starts, so the
 * suites that drive the compiled binary (CLI, RPM) test what `npm run build` makes.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export default function setup(): void {
  const started = Date.now();
  const build = spawnSync("sh", ["scripts/build"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  if (build.status !== 0) {
    throw new Error(`npm run build failed (exit ${build.status ?? build.signal}):\n${build.stdout}\n${build.stderr}`);
  }
  console.log(`built dist/parallama in ${Date.now() - started} ms`);
}
