/**
 * The backup file: JSON lines. The first line is a header (format, version, row counts); every
 * other line is one row, `{"table": "<Dump key>", "row": {...}}`, with Dates as ISO strings.
 * Lines keep each write and parse small, and the counts catch a truncated file before a restore.
 */
import { closeSync, createReadStream, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Dump, Store } from "./store.ts";

const BACKUP_FORMAT = "parallama-backup";
const BACKUP_VERSION = 1;

const TABLES = ["users", "keys", "limits", "models", "usage", "rollups"] as const;
type Table = (typeof TABLES)[number];
export type BackupCounts = Record<Table, number>;

/** Fields holding a Date (or null) in each table's rows. */
const DATE_FIELDS: Record<Table, string[]> = {
  users: ["createdAt"],
  keys: ["createdAt", "expiresAt", "revokedAt", "lastUsedAt"],
  limits: [],
  models: [],
  usage: ["at"],
  rollups: [],
};

const FLUSH_BYTES = 1 << 20;

export class BackupError extends Error {
  override name = "BackupError";
}

/** The first fields of every dump a driver makes: this format and version, made now. */
export function dumpHeader(): Pick<Dump, "format" | "version" | "createdAt"> {
  return { format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString() };
}

/** Refuses anything that is not a dump this version can load. */
export function assertRestorable(dump: Pick<Dump, "format" | "version">, source = "the backup"): void {
  if (dump?.format !== BACKUP_FORMAT) throw new BackupError(`${source} is not a Parallama backup`);
  if (dump.version !== BACKUP_VERSION) {
    throw new BackupError(`${source} is backup version ${String(dump.version)}; this Parallama reads version ${BACKUP_VERSION}`);
  }
}

/**
 * Writes the store's dump to `file` (mode 0600: it holds key hashes). The file appears only when
 * complete, so a failed backup never replaces a good one.
 */
export async function writeBackup(store: Store, file: string): Promise<BackupCounts> {
  const dump = await store.dump();
  const counts = Object.fromEntries(TABLES.map((t) => [t, dump[t].length])) as BackupCounts;
  const partial = `${file}.partial`;
  const fd = openSync(partial, "w", 0o600);
  try {
    let buffer = JSON.stringify({ format: dump.format, version: dump.version, createdAt: dump.createdAt, counts }) + "\n";
    for (const table of TABLES) {
      for (const row of dump[table]) {
        buffer += JSON.stringify({ table, row }) + "\n";
        if (buffer.length >= FLUSH_BYTES) buffer = flush(fd, buffer);
      }
    }
    flush(fd, buffer);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partial, file);
  } catch (error) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw error;
  }
  return counts;
}

function flush(fd: number, text: string): string {
  writeSync(fd, text);
  return "";
}

/** Reads a backup written by writeBackup; a wrong format, version, malformed line or missing rows is a BackupError. */
export async function readBackup(file: string): Promise<Dump> {
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  let dump: Dump | null = null;
  let expected: BackupCounts | null = null;
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      const value = parseLine(line, file, lineNo);
      if (dump === null) {
        assertRestorable(value as Dump, file);
        const header = value as Pick<Dump, "format" | "version" | "createdAt"> & { counts: BackupCounts };
        expected = header.counts;
        dump = { format: header.format, version: header.version, createdAt: header.createdAt, users: [], keys: [], limits: [], models: [], usage: [], rollups: [] };
        continue;
      }
      addRow(dump, value, `${file}:${lineNo}`);
    }
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(`cannot read backup ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (dump === null || expected === null) throw new BackupError(`${file} is empty, not a Parallama backup`);
  for (const table of TABLES) {
    if (dump[table].length !== expected[table]) {
      throw new BackupError(`${file} is incomplete: the header promises ${expected[table]} ${table} rows, the file holds ${dump[table].length}`);
    }
  }
  return dump;
}

function parseLine(line: string, file: string, lineNo: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new BackupError(lineNo === 1 ? `${file} is not a Parallama backup` : `${file}:${lineNo}: not a JSON line`);
  }
}

function addRow(dump: Dump, value: unknown, where: string): void {
  const { table, row } = (value ?? {}) as { table?: unknown; row?: unknown };
  if (!TABLES.includes(table as Table) || typeof row !== "object" || row === null) {
    throw new BackupError(`${where}: expected {"table": one of ${TABLES.join("|")}, "row": {...}}`);
  }
  const revived = row as Record<string, unknown>;
  for (const field of DATE_FIELDS[table as Table]) {
    const text = revived[field];
    if (text === null && field !== "createdAt" && field !== "at") continue;
    const at = typeof text === "string" ? new Date(text) : new Date(NaN);
    if (Number.isNaN(at.getTime())) throw new BackupError(`${where}: ${table}.${field} is not a date`);
    revived[field] = at;
  }
  (dump[table as Table] as unknown[]).push(revived);
}
