/**
 * Runs the emulator as a process, for the benchmark and manual use:
 *   bun test/emulator/main.ts --port 11434 [--fast] [--chunks N] [--chunk-delay-ms N] [--first-token-delay-ms N] [--hostname H]
 * Prints one line `emulator listening on URL` once it accepts connections.
 */
import { parseArgs } from "node:util";
import { startEmulator } from "./index.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "11434" },
      hostname: { type: "string", default: "127.0.0.1" },
      fast: { type: "boolean", default: false },
      chunks: { type: "string" },
      "chunk-delay-ms": { type: "string" },
      "first-token-delay-ms": { type: "string" },
    },
    strict: true,
  });
  const emulator = await startEmulator({
    port: integer("port", values.port),
    hostname: values.hostname,
    fast: values.fast,
    chunks: integer("chunks", values.chunks),
    chunkDelayMs: integer("chunk-delay-ms", values["chunk-delay-ms"]),
    firstTokenDelayMs: integer("first-token-delay-ms", values["first-token-delay-ms"]),
  });
  console.log(`emulator listening on ${emulator.url}${values.fast ? " (fast)" : ""}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void emulator.stop().then(() => process.exit(0)));
  }
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new Error(`--${name} must be an integer, got ${value}`);
  return parsed;
}

main().catch((error: unknown) => {
  console.error(`emulator: ${(error as Error).message}`);
  process.exitCode = 2;
});
