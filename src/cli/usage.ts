/** `parallama usage report`: requests and tokens grouped by user, model, endpoint, day or hour. */
import type { CAC } from "cac";
import type { ReportGroup, ReportQuery, ReportRow } from "../store/store.ts";
import { type GlobalOptions, withStore } from "./context.ts";
import { UsageError } from "./errors.ts";
import { optionText, parseModel, parseName, parseTime, quote } from "./input.ts";
import { type Cell, printCsv, printJson, printTable } from "./output.ts";

const GROUPS: readonly ReportGroup[] = ["user", "model", "endpoint", "day", "hour"];
const FORMATS = ["table", "json", "csv"] as const;
const COUNTS = ["requests", "prompt_tokens", "completion_tokens", "total_tokens", "errors"] as const;

type ReportOptions = GlobalOptions & { by?: unknown; since?: unknown; until?: unknown; user?: unknown; model?: unknown; format?: unknown };

export function registerUsageCommands(cli: CAC): void {
  cli
    .command("usage report", "Requests and tokens per group; errors are requests with status 400 or above")
    .option("--by <groups>", `Comma-separated groups from ${GROUPS.join(", ")} (default: user,model)`)
    .option("--since <time>", "From this time: ISO date/time (UTC unless zoned) or a duration ago, e.g. 24h")
    .option("--until <time>", "Up to this time (same forms as --since)")
    .option("--user <name>", "Only this user")
    .option("--model <name>", "Only this model")
    .option("--format <format>", `${FORMATS.join(", ")} (default: table; --json means json)`)
    .action((options: ReportOptions) => {
      const query = reportQuery(options);
      const format = reportFormat(options);
      return withStore(options, async (store) => printReport(query.by, await store.report(query), format));
    });
}

function reportQuery(options: ReportOptions): ReportQuery {
  const byText = optionText(options.by, "--by") ?? "user,model";
  const by = byText.split(",").map((g) => g.trim());
  for (const g of by) {
    if (!GROUPS.includes(g as ReportGroup)) throw new UsageError(`--by: unknown group ${quote(g)}; use a comma-separated list of ${GROUPS.join(", ")}`);
  }
  if (new Set(by).size !== by.length) throw new UsageError(`--by: ${quote(byText)} names a group twice`);
  const now = Date.now();
  const sinceText = optionText(options.since, "--since");
  const untilText = optionText(options.until, "--until");
  const userText = optionText(options.user, "--user");
  const modelText = optionText(options.model, "--model");
  const query: ReportQuery = { by: by as ReportGroup[] };
  if (sinceText !== undefined) query.since = parseTime(sinceText, "--since", now);
  if (untilText !== undefined) query.until = parseTime(untilText, "--until", now);
  if (query.since && query.until && query.since > query.until) throw new UsageError("--since is after --until");
  if (userText !== undefined) query.user = parseName(userText);
  if (modelText !== undefined) query.model = parseModel(modelText);
  return query;
}

function reportFormat(options: ReportOptions): (typeof FORMATS)[number] {
  const text = optionText(options.format, "--format");
  if (text === undefined) return options.json ? "json" : "table";
  if (!FORMATS.includes(text as never)) throw new UsageError(`--format: ${quote(text)} is not one of ${FORMATS.join(", ")}`);
  if (options.json && text !== "json") throw new UsageError(`--json and --format ${text} disagree; give one`);
  return text as (typeof FORMATS)[number];
}

function printReport(by: ReportGroup[], rows: ReportRow[], format: (typeof FORMATS)[number]): void {
  const columns = [...by, ...COUNTS];
  const cells = (row: ReportRow): Cell[] => columns.map((c) => row[c as keyof ReportRow] ?? null);
  if (format === "json") return printJson(rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c as keyof ReportRow] ?? null]))));
  if (format === "csv") return printCsv(columns, rows.map(cells));
  const total: Cell[] = [...by.map((_, i) => (i === 0 ? "TOTAL" : "")), ...COUNTS.map((c) => rows.reduce((sum, row) => sum + row[c], 0))];
  printTable(
    columns.map((c) => c.toUpperCase().replace("_", " ")),
    [...rows.map(cells), ...(rows.length > 1 ? [total] : [])],
  );
}
