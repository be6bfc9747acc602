#!/usr/bin/env bun
/**
 * The `parallama` command: `serve` and every admin subcommand, in one binary.
 * Commands live in src/cli (one file per group); failures of any kind leave through handleError.
 */
import { cac, type CAC } from "cac";
import packageJson from "../package.json" with { type: "json" };
import { registerBackupCommands } from "./cli/backup.ts";
import { handleError, UsageError } from "./cli/errors.ts";
import { quote } from "./cli/input.ts";
import { registerKeyCommands } from "./cli/key.ts";
import { registerLimitsCommands } from "./cli/limits.ts";
import { registerMigrateCommand } from "./cli/migrate.ts";
import { registerModelsCommands } from "./cli/models.ts";
import { registerServeCommand } from "./cli/serve.ts";
import { registerUsageCommands } from "./cli/usage.ts";
import { registerUserCommands } from "./cli/user.ts";

function buildCli(): CAC {
  const cli = cac("parallama");
  cli.option("--config <file>", "Config file (default: $PARALLAMA_CONFIG, else /etc/parallama/config.yaml if present, else built-in defaults)");
  cli.option("--json", "Print JSON instead of tables, for scripts");
  cli.option("-v, --version", "Print the version");
  registerServeCommand(cli);
  registerUserCommands(cli);
  registerKeyCommands(cli);
  registerLimitsCommands(cli);
  registerModelsCommands(cli);
  registerUsageCommands(cli);
  registerBackupCommands(cli);
  registerMigrateCommand(cli);
  cli.help();
  return cli;
}

async function main(argv: string[]): Promise<void> {
  const cli = buildCli();
  const names = cli.commands.map((c) => c.name);
  cli.parse(["parallama", "parallama", ...normalizeArgv(argv, names)], { run: false });
  if (cli.options.help) return; // cac has printed the help
  if (cli.options.version) return console.log(`parallama ${packageJson.version}`);
  if (!cli.matchedCommand) {
    const [first, second] = cli.args;
    if (first === undefined && argv.length === 0) return cli.outputHelp();
    cli.globalCommand.checkUnknownOptions();
    if (first === undefined) throw new UsageError("missing command");
    const actions = names.filter((n) => n.startsWith(`${first} `)).map((n) => n.slice(first.length + 1));
    if (actions.length === 0) throw new UsageError(`unknown command ${quote(first)}`);
    if (second === undefined) throw new UsageError(`${first}: missing subcommand, one of: ${actions.join(", ")}`);
    throw new UsageError(`${first}: unknown subcommand ${quote(second)}, use one of: ${actions.join(", ")}`);
  }
  await cli.runMatchedCommand();
}

/**
 * cac matches a command by one word, so the group and action (`user create`) are joined into the
 * word it knows. And `--requests-hourly -5` becomes `--requests-hourly=-5`, so a negative number
 * is reported as a bad value rather than as an unknown option `-5`.
 */
function normalizeArgv(argv: string[], commands: string[]): string[] {
  const out: string[] = [];
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token.startsWith("--") && !token.includes("=") && next !== undefined && /^-\d/.test(next)) {
      out.push(`${token}=${next}`);
      i++;
    } else if (token === "--config" && next !== undefined) {
      out.push(token, next);
      i++;
    } else if (!commandSeen && !token.startsWith("-")) {
      commandSeen = true;
      const joined = `${token} ${next}`;
      if (next !== undefined && commands.includes(joined)) {
        out.push(joined);
        i++;
      } else out.push(token);
    } else out.push(token);
  }
  return out;
}

main(process.argv.slice(2)).catch(handleError);
