/** Printing: aligned tables and fields for people, JSON and CSV for scripts. */

export type Cell = string | number | null;

/** UTC, to the second: what an operator compares with logs. */
export function formatTime(at: Date | null): string {
  return at ? at.toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Columns padded to their widest cell; null prints as "-". */
export function printTable(headers: string[], rows: Cell[][]): void {
  const text = [headers, ...rows].map((row) => row.map((cell) => (cell == null ? "-" : String(cell))));
  const widths = headers.map((_, i) => Math.max(...text.map((row) => row[i]!.length)));
  for (const row of text) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

/** `label: value` lines, labels aligned, for one record. */
export function printFields(fields: Array<[string, Cell]>): void {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  for (const [label, value] of fields) console.log(`${`${label}:`.padEnd(width)} ${value == null ? "-" : value}`);
}

/** RFC 4180 quoting (with Unix line ends): quote a field holding a comma, quote or line break; null is an empty field. */
export function printCsv(headers: string[], rows: Cell[][]): void {
  const field = (cell: Cell) => {
    const s = cell == null ? "" : String(cell);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  for (const row of [headers, ...rows]) console.log(row.map(field).join(","));
}
