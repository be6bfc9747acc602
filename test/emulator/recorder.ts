/**
 * What the emulator saw, for tests to assert on: every request with its headers and body, and
 * whether the client went away before the response was complete.
 */

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The parsed JSON body; null when absent or not JSON (blobs). */
  body: unknown;
  /** The client disconnected before the response was complete. */
  aborted: boolean;
  /** The response was produced completely. */
  finished: boolean;
}

/** Counters kept in every mode (also fast, where no request is logged). */
export interface EmulatorStats {
  requests: number;
  inFlight: number;
  aborted: number;
  finished: number;
}

export class Recorder {
  readonly requests: RecordedRequest[] = [];
  readonly stats: EmulatorStats = { requests: 0, inFlight: 0, aborted: 0, finished: 0 };

  constructor(private readonly logRequests: boolean) {}

  /** Starts tracking one request; the entry is also pushed to `requests` unless in fast mode. */
  start(method: string, path: string, headers: Headers, body: unknown): RecordedRequest {
    const entry: RecordedRequest = { method, path, headers: headerRecord(headers), body, aborted: false, finished: false };
    this.stats.requests++;
    this.stats.inFlight++;
    if (this.logRequests) this.requests.push(entry);
    return entry;
  }

  finish(entry: RecordedRequest): void {
    if (entry.finished || entry.aborted) return;
    entry.finished = true;
    this.stats.finished++;
    this.stats.inFlight--;
  }

  abort(entry: RecordedRequest): void {
    if (entry.finished || entry.aborted) return;
    entry.aborted = true;
    this.stats.aborted++;
    this.stats.inFlight--;
  }

  reset(): void {
    this.requests.length = 0;
    Object.assign(this.stats, { requests: 0, aborted: 0, finished: 0 });
  }
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}
