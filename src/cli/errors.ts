/**
 * The CLI's one error path: every failure ends here as one line on stderr and an exit code
 * (2 for bad usage or configuration, 1 for everything else).
 */
import { ConfigError } from "../config/load.ts";

/** The command line itself is wrong (bad argument, option or value): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A well-formed command that cannot be carried out (unknown user, revoked key...): exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return 2;
  // cac's own parse errors (unknown option, missing argument) are usage errors too.
  if (err instanceof Error && err.name === "CACError") return 2;
  return 1;
}

export function handleError(err: unknown): never {
  console.error(`parallama: ${oneLine(err)}`);
  // Exit now rather than set exitCode: a half-open database connection must not keep a failed command waiting.
  process.exit(exitCodeOf(err));
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  if (err instanceof Error && err.name === "CACError") return `${line.charAt(0).toLowerCase()}${line.slice(1)} (see parallama --help)`;
  return line || "unknown error";
}
