/** Runs the `parallama` command line as a process, as an admin on the gateway's box would. */
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const BUN = join(ROOT, "node_modules/.bin/bun");
const MAIN = join(ROOT, "src/main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCommand([BUN, MAIN, ...args], { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env });
}

/** Runs any command line (the source CLI above, or a compiled binary) to its exit, with exactly `env`. */
export async function runCommand(argv: string[], env: Record<string, string>, cwd?: string): Promise<CliResult> {
  const proc = Bun.spawn(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs a command that must succeed and parses its --json output. */
export async function cliJson<T = any>(args: string[], env: Record<string, string>): Promise<T> {
  const result = await runCli([...args, "--json"], env);
  if (result.code !== 0) throw new Error(`parallama ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
