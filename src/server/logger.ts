import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { Config } from "../config/schema.ts";

export type { Logger };

export interface LogSink {
  logger: Logger;
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
  // Lines are written when 4 KiB are buffered or at least once a second, so a quiet gateway's log is never stale.
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // not open yet, or being reopened: the next tick writes
    }
  }, 1000).unref();
  return {
    logger,
    reopen: () => {
      if (file) destination.reopen();
    },
    flush: () => destination.flushSync(),
  };
}
