/**
 * The spill file: usage rows that could not stay in memory, as JSON lines, written on the next
 * successful contact with the store.
 *
 * New rows are appended to `path`. To replay, the file is first renamed to `path.replay` (so
 * appends during the replay go to a fresh file and the replay reads a file nobody writes), then
 * read in batches by byte offset; the offset moves only after the caller says a batch is stored,
 * and the file is removed once it is read to the end. A crash mid-replay leaves `path.replay`,
 * which the next run replays from the start: rows already stored come again, and the recorder
 * skips them by id (see recorder.ts). A line torn by a crash mid-append is skipped and counted.
 */

import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import type { UsageRecord } from "../store/store.ts";

export interface ReplayBatch {
  rows: UsageRecord[];
  /** Pass to consume() once the rows are stored. */
  end: number;
  /** Lines that were not a usage row (torn by a crash), skipped. */
  skipped: number;
}

const READ_CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

export class SpillFile {
  private appendFd: number | null = null;
  private appendedBytes: number;
  private replay: { fd: number; offset: number; size: number } | null = null;

  constructor(readonly path: string) {
    this.appendedBytes = sizeOf(path);
    this.openReplay();
  }

  private get replayPath(): string {
    return `${this.path}.replay`;
  }

  /** Bytes spilled and not yet replayed. */
  get bytes(): number {
    return this.appendedBytes + (this.replay ? this.replay.size - this.replay.offset : 0);
  }

  /** Appends rows synchronously; throws when the disk refuses (the caller keeps the rows). */
  append(rows: UsageRecord[]): void {
    if (rows.length === 0) return;
    this.appendFd ??= openSync(this.path, "a", 0o600);
    const text = rows.map((r) => `${JSON.stringify(r)}\n`).join("");
    const bytes = Buffer.from(text);
    let written = 0;
    while (written < bytes.length) written += writeSync(this.appendFd, bytes, written);
    this.appendedBytes += bytes.length;
  }

  /** The next up to n spilled rows, oldest file first, without consuming them; null when none. */
  peek(n: number): ReplayBatch | null {
    if (!this.replay && !this.rotate()) return null;
    const replay = this.replay!;
    if (replay.offset >= replay.size) {
      this.finishReplay();
      return this.peek(n);
    }
    return readLines(replay.fd, replay.offset, replay.size, n);
  }

  /** Marks everything before `end` as stored; removes the replay file when it is all stored. */
  consume(end: number): void {
    if (!this.replay) return;
    this.replay.offset = end;
    if (end >= this.replay.size) this.finishReplay();
  }

  /** Makes appended rows durable and closes the file; a later append reopens it. */
  close(): void {
    if (this.appendFd !== null) {
      fsyncSync(this.appendFd);
      closeSync(this.appendFd);
      this.appendFd = null;
    }
  }

  private openReplay(): boolean {
    if (!existsSync(this.replayPath)) return false;
    const fd = openSync(this.replayPath, "r");
    this.replay = { fd, offset: 0, size: fstatSync(fd).size };
    return true;
  }

  /** Turns the append file into the replay file; false when there is nothing spilled. */
  private rotate(): boolean {
    if (this.openReplay()) return true;
    if (this.appendedBytes === 0 && sizeOf(this.path) === 0) return false;
    this.close();
    renameSync(this.path, this.replayPath);
    this.appendedBytes = 0;
    return this.openReplay();
  }

  private finishReplay(): void {
    if (!this.replay) return;
    closeSync(this.replay.fd);
    unlinkSync(this.replayPath);
    this.replay = null;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads up to n whole lines from offset; a last line without newline at end of file counts as one. */
function readLines(fd: number, offset: number, size: number, n: number): ReplayBatch {
  const rows: UsageRecord[] = [];
  let skipped = 0;
  let pos = offset;
  let chunk = READ_CHUNK;
  while (rows.length < n && pos < size) {
    const buf = Buffer.alloc(Math.min(chunk, size - pos));
    const got = readSync(fd, buf, 0, buf.length, pos);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, 0); nl !== -1 && rows.length < n; nl = buf.indexOf(NEWLINE, start)) {
      const row = parseRow(buf.subarray(start, nl));
      if (row) rows.push(row);
      else skipped++;
      start = nl + 1;
    }
    if (start === 0 && pos + got >= size) {
      // no newline before the end of the file: a line torn by a crash, or whole but for its newline
      const row = parseRow(buf.subarray(0, got));
      if (row) rows.push(row);
      else skipped++;
      start = got;
    } else if (start === 0) {
      chunk *= 2; // a line longer than the chunk: read more at once
    }
    pos += start;
  }
  return { rows, end: pos, skipped };
}

function parseRow(line: Buffer): UsageRecord | null {
  try {
    const raw = JSON.parse(line.toString("utf8")) as UsageRecord & { at: string };
    if (typeof raw.id !== "string" || typeof raw.at !== "string") return null;
    return { ...raw, at: new Date(raw.at) };
  } catch {
    return null;
  }
}
