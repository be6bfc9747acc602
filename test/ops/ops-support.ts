/** Shared by the packaging suites: the repository root, the built binary, and process helpers. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
/** Built once per test run by the vitest globalSetup (sh scripts/build). */
export const BINARY = join(ROOT, "dist/parallama");

export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: the test globalSetup (sh scripts/build) should have built it`);
  return BINARY;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws, so a test can assert on the exit status. */
export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, input: options.input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run, but a non-zero exit fails with the command's stderr. */
export function runOk(cmd: string, args: string[], options: Parameters<typeof run>[2] = {}): string {
  const r = run(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A TCP port that was free a moment ago (the binary's own port-0 output is not relied on). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}
