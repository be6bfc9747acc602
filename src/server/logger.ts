import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { Config } from "../config/schema.ts";

export type { Logger };

export interface LogSink {
  logger: Logger;
  /**
   * Writes one request line (level info) in the logger's format. Request lines are the only
   * per-request logging, so they skip pino's generic serializer: the fields are flat and chosen.
   * A no-op when the level is above info.
   */
  request(fields: Record<string, unknown>): void;
  /** Reopens the log file (after logrotate moved it away); a no-op on stdout. */
  reopen(): void;
  /** Writes out buffered lines; call before exit. */
  flush(): void;
}

/**
 * JSON lines to stdout (journald) or to logging.dir/parallama.log. Lines are buffered and written
 * off the request path. Nothing here ever receives a key or an Authorization header: request
 * lines are built from chosen fields only (see server/request-log.ts).
 */
export function createLogSink(logging: Config["logging"]): LogSink {
  const file = logging.dir ? join(logging.dir, "parallama.log") : null;
  if (logging.dir) mkdirSync(logging.dir, { recursive: true });
  const destination = pino.destination({ dest: file ?? 1, sync: false, minLength: 4096 });
  const logger = pino(
    {
      level: logging.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const prefix = `{"level":"info","pid":${process.pid},"time":"`;
  let pending = "";
  const writePending = () => {
    if (pending === "") return;
    destination.write(pending);
    pending = "";
  };
  // Lines are written when 64 KiB are pending or at least once a second, so a quiet gateway's log is never stale.
  setInterval(() => {
    try {
      writePending();
      destination.flush();
    } catch {
      // not open yet, or being reopened: the next tick writes
    }
  }, 1000).unref();
  const requestLines = logger.isLevelEnabled("info");
  // Under load many lines share a millisecond: the time is formatted once per millisecond (it was 1% of a request's CPU).
  let isoMs = -1;
  let iso = "";
  return {
    logger,
    request(fields) {
      if (!requestLines) return;
      const now = Date.now();
      if (now !== isoMs) {
        isoMs = now;
        iso = new Date(now).toISOString();
      }
      pending += `${prefix}${iso}",${JSON.stringify(fields).slice(1)}\n`;
      if (pending.length > 65_536) writePending();
    },
    reopen: () => {
      if (file) destination.reopen();
    },
    flush: () => {
      writePending();
      destination.flushSync();
    },
  };
}
