import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { Config } from "../config/schema.ts";

export type { Logger };

export interface LogSink {
  logger: Logger;
  /**
   * Writes one request line (level info) in the logger's format, given its fields as the text of
   * one JSON object. Request lines are the only per-request logging, so they skip pino's generic
   * serializer: the fields are flat and chosen. Null when the level is above info, so the
   * caller builds no line at all.
   */
  request: ((json: string) => void) | null;
  /** Reopens the log file (after logrotate moved it away); a no-op on stdout. */
  reopen(): void;
  /** Writes out buffered lines, including a write already in flight; await it before exit. */
  flush(): Promise<void>;
}

/**
 * JSON lines to stdout (journald) or to logging.dir/parallama.log. Lines are buffered and written
 * off the request path. Nothing here ever receives a key or an Authorization header: request
 * lines are built from chosen fields only (see server/request-log.ts).
 */
export function createLogSink(logging: Config["logging"]): LogSink {
  const file = logging.dir ? join(logging.dir, "parallama.log") : null;
  if (logging.dir) mkdirSync(logging.dir, { recursive: true });
  // Buffer mode: request lines are encoded once, straight into a block that is handed over whole.
  const destination = pino.destination({ dest: file ?? 1, sync: false, minLength: 4096, contentMode: "buffer" });
  // sonic-boom's types know only its string mode; in buffer mode write takes bytes.
  const writeBlock = destination.write.bind(destination) as unknown as (block: Buffer) => boolean;
  const logger = pino(
    {
      level: logging.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => writeBlock(Buffer.from(line)) },
  );
  const lines = new LineBlock(Buffer.from(`{"level":"info","pid":${process.pid},"time":"`));
  const writePending = () => {
    const block = lines.take();
    if (block) writeBlock(block);
  };
  // Lines are written when a block is full or at least once a second, so a quiet gateway's log is never stale.
  setInterval(() => {
    try {
      writePending();
      destination.flush();
    } catch {
      // not open yet, or being reopened: the next tick writes
    }
  }, 1000).unref();
  const request = (json: string) => {
    if (!lines.fits(json)) writePending();
    if (lines.fits(json)) lines.append(json);
    else writeBlock(lines.alone(json));
  };
  return {
    logger,
    request: logger.isLevelEnabled("info") ? request : null,
    reopen: () => {
      if (file) destination.reopen();
    },
    flush: async () => {
      writePending();
      // flushSync alone skips a block whose asynchronous write is in flight, and exit would lose it:
      // wait for the writes to drain, then write synchronously what drain leaves below minLength.
      await new Promise<void>((resolve) => {
        destination.flush(() => resolve());
        setTimeout(resolve, 2000).unref(); // a stuck disk must not hold the exit forever
      });
      try {
        destination.flushSync();
      } catch {
        // never opened: there is nowhere to write
      }
    },
  };
}

const BLOCK_BYTES = 64 * 1024;

/**
 * Request lines, encoded into one 64 KiB block: `{"level":"info","pid":…,"time":"…"` and then the
 * fields' JSON with its opening brace overwritten by a comma. One string a line (the fields' JSON),
 * where building the line as a string and concatenating lines copied it four times over.
 */
class LineBlock {
  private block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
  private used = 0;
  // Under load many lines share a millisecond: the time is formatted once per millisecond (it was 1% of a request's CPU).
  private isoMs = -1;
  private readonly iso = Buffer.alloc(24);
  /** A line's bytes besides the fields' JSON: the head, the time, its closing quote and the newline. */
  private readonly frame: number;

  constructor(private readonly head: Buffer) {
    this.frame = head.length + this.iso.length + 2;
  }

  /** Whether a line of this JSON surely fits (UTF-8 takes at most 3 bytes a UTF-16 unit). */
  fits(json: string): boolean {
    return this.used + this.frame + json.length * 3 <= BLOCK_BYTES;
  }

  append(json: string): void {
    this.used = this.encode(this.block, this.used, json);
  }

  /** A line too long for any block, in a buffer of its own. */
  alone(json: string): Buffer {
    const b = Buffer.allocUnsafe(this.frame + Buffer.byteLength(json));
    this.encode(b, 0, json);
    return b;
  }

  private encode(b: Buffer, from: number, json: string): number {
    const now = Date.now();
    if (now !== this.isoMs) {
      this.isoMs = now;
      this.iso.write(new Date(now).toISOString(), 0, "latin1");
    }
    let at = from;
    at += this.head.copy(b, at);
    at += this.iso.copy(b, at);
    b[at++] = 0x22; // "
    const start = at;
    at += b.write(json, at, "utf8");
    b[start] = 0x2c; // the fields' "{" becomes ","
    b[at++] = 0x0a;
    return at;
  }

  /** The lines so far, as a block of their own (the writer keeps it until written); null when none. */
  take(): Buffer | null {
    if (this.used === 0) return null;
    const full = this.block.subarray(0, this.used);
    this.block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
    this.used = 0;
    return full;
  }
}
