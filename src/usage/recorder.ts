/**
 * UsageRecorder: the "Record" step of the request path (DESIGN.md, step 6).
 *
 * Guarantees:
 * - `record()` is synchronous and O(1): it queues the row and returns; the request never waits
 *   on the database and never sees its errors.
 * - One flusher writes batches of up to batchSize rows with store.insertUsage, when the queue
 *   reaches batchSize or every flushIntervalMs; never more than one write is in flight. Reaching
 *   batchSize writes full batches only: the rows that arrive meanwhile wait to fill the next one
 *   (or for the interval), instead of going out a few at a time each turn.
 * - A failed batch goes back to the front of the queue and is retried with backoff (250 ms
 *   doubling to 5 s). An outage is logged once when it starts and once when writes recover.
 * - Above memoryLimit queued rows, the oldest go to the spill file, which is replayed once
 *   writes succeed (and at start, when a previous run left one).
 * - `close()` writes what it can within its timeout and spills the rest, so nothing is lost.
 * - Key last-use times are aggregated and sent with one touchKeys call per flush.
 *
 * Only StoreError "unavailable" counts as an outage. A batch the store refuses for another
 * reason is written row by row: rows already stored are skipped (so no row is stored twice)
 * and rows the store will never take are set aside in `spillPath.rejected` (batch-writer.ts).
 */

import type { Store, UsageRecord } from "../store/store.ts";
import { BatchWriter } from "./batch-writer.ts";
import { silentLogger, type UsageLogger } from "./logger.ts";
import { RowQueue } from "./row-queue.ts";
import { SpillFile } from "./spill-file.ts";

export interface RecorderOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Rows kept in memory before the oldest are spilled to spillPath. */
  memoryLimit: number;
  /** JSON-lines file for rows beyond memoryLimit and for rows left at close(). */
  spillPath: string;
  logger?: UsageLogger;
  /** Delay after a failed write: starts at minMs and doubles per failure up to maxMs. */
  backoff?: { minMs: number; maxMs: number };
}

/** What the recorder needs from the store. */
export type UsageSink = Pick<Store, "insertUsage" | "touchKeys">;

const DEFAULT_BACKOFF = { minMs: 250, maxMs: 5_000 };

export class UsageRecorder {
  private readonly queue = new RowQueue();
  private readonly spill: SpillFile;
  private readonly writer: BatchWriter;
  private readonly logger: UsageLogger;
  private readonly backoff: { minMs: number; maxMs: number };
  /** The queued batch being written now; spilled by close() if the write is still hanging. */
  private inFlight: UsageRecord[] = [];
  private lastUsed = new Map<string, Date>();
  private draining: Promise<Error | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private kickPending = false;
  private spillPending = false;
  private spillFailing = false;
  /** Current backoff; 0 while writes succeed. */
  private retryDelayMs = 0;
  private outageSince: number | null = null;
  /** close() has begun: no more timers. */
  private stopping = false;
  /** close() has finished: record() appends straight to the spill file. */
  private closed = false;
  private failures = 0;

  constructor(
    private readonly store: UsageSink,
    private readonly options: RecorderOptions,
  ) {
    checkOptions(options);
    this.logger = options.logger ?? silentLogger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.spill = new SpillFile(options.spillPath);
    this.writer = new BatchWriter(store, `${options.spillPath}.rejected`, this.logger);
    if (this.spill.bytes > 0) this.logger.info({ spillBytes: this.spill.bytes, path: options.spillPath }, "replaying usage spill file from a previous run");
    this.schedule(this.spill.bytes > 0 ? 0 : options.flushIntervalMs);
  }

  /** Rows waiting in memory, including a batch being written. */
  get queueDepth(): number {
    return this.queue.length + this.inFlight.length;
  }

  /** Bytes in the spill file not yet written to the store. */
  get spillBytes(): number {
    return this.spill.bytes;
  }

  /** Rows this recorder has stored (spilled rows count when replayed). */
  get writtenTotal(): number {
    return this.writer.written;
  }

  /** Rows the store refused on their own (not an outage), set aside in spillPath.rejected. */
  get rejectedRows(): number {
    return this.writer.rejected;
  }

  /** Write attempts that failed. */
  get failedWrites(): number {
    return this.failures;
  }

  /** Queues one row; never waits, never throws. */
  record(row: UsageRecord): void {
    try {
      if (this.closed) return this.spillAfterClose(row);
      this.queue.push(row);
      if (row.keyId) this.noteKeyUse(row.keyId, row.at);
      if (this.queue.length >= this.options.batchSize && this.retryDelayMs === 0) this.kickSoon();
      if (this.queue.length > this.options.memoryLimit) this.spillSoon();
    } catch (err) {
      this.logger.error({ err, id: row.id }, "usage row could not be queued");
    }
  }

  /** Writes everything queued and spilled now; rejects with the store's error if a write fails. */
  async flush(): Promise<void> {
    if (this.draining) await this.draining;
    const err = await this.kick();
    if (err) throw err;
  }

  /**
   * Writes what it can within timeoutMs, then appends every row still unwritten (queued or in a
   * hanging write) to the spill file and fsyncs it. Does not close the store.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimer();
    const outcome = await withTimeout(this.flush().then(() => "flushed" as const), timeoutMs).catch(() => "failed" as const);
    const rest = [...this.inFlight, ...this.queue.takeFront(this.queue.length)];
    this.inFlight = [];
    this.closed = true;
    try {
      this.spill.append(rest);
      this.spill.close();
      this.logger.info({ outcome, written: this.writer.written, spilled: rest.length, spillBytes: this.spill.bytes }, "usage recorder closed");
    } catch (err) {
      this.logger.error({ err, lost: rest.length }, "usage rows could not be spilled at close");
    }
  }

  private noteKeyUse(keyId: string, at: Date): void {
    const prev = this.lastUsed.get(keyId);
    // getTime: comparing the Dates themselves converts both through Symbol.toPrimitive, on every request.
    if (!prev || prev.getTime() < at.getTime()) this.lastUsed.set(keyId, at);
  }

  private spillAfterClose(row: UsageRecord): void {
    this.spill.append([row]);
    this.spill.close();
  }

  // Both are deferred so the request that crossed a threshold never runs store or disk work.
  private kickSoon(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.kick(false);
    });
  }

  private spillSoon(): void {
    if (this.spillPending) return;
    this.spillPending = true;
    setImmediate(() => {
      this.spillPending = false;
      this.spillExcess();
    });
  }

  private spillExcess(): void {
    const excess = this.queue.length - this.options.memoryLimit;
    if (excess <= 0 || this.closed) return;
    const rows = this.queue.takeFront(excess);
    try {
      this.spill.append(rows);
      this.spillFailing = false;
    } catch (err) {
      this.queue.putFront(rows);
      if (!this.spillFailing) this.logger.error({ err, path: this.options.spillPath, queued: this.queue.length }, "usage spill file not writable; rows stay in memory");
      this.spillFailing = true;
    }
  }

  /** remainder: also write the last, partial batch (the interval's flush, and flush()). */
  private kick(remainder = true): Promise<Error | null> {
    this.draining ??= this.drain(remainder).finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** One flush: every batch queued or spilled, then one touchKeys. Resolves with the error that stopped it. */
  private async drain(remainder: boolean): Promise<Error | null> {
    this.clearTimer();
    try {
      await this.writeAll(remainder);
      await this.touchKeys();
      this.recovered();
      this.schedule(this.options.flushIntervalMs);
      return null;
    } catch (err) {
      this.failed(err);
      this.schedule(this.retryDelayMs);
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private async writeAll(remainder: boolean): Promise<void> {
    // Full queued batches first, so memory stays bounded while a long spill file replays.
    for (let first = true; ; first = false) {
      if (this.closed) return;
      // A synchronous driver (SQLite) blocks the event loop for the whole batch: let requests
      // in between batches, so no request waits behind more than one.
      if (!first) await new Promise((resolve) => setImmediate(resolve));
      if (this.queue.length >= this.options.batchSize) await this.writeQueued();
      else if (this.spill.bytes > 0 && (await this.writeSpilled())) continue;
      else if (this.queue.length > 0 && remainder) return this.writeQueued();
      else return;
    }
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue.takeFront(this.options.batchSize);
    this.inFlight = batch;
    try {
      await this.writer.write(batch);
    } catch (err) {
      // After close() took over the batch (spilled it), it must not come back.
      if (this.inFlight === batch) this.queue.putFront(batch);
      if (this.queue.length > this.options.memoryLimit) this.spillSoon();
      throw err;
    } finally {
      if (this.inFlight === batch) this.inFlight = [];
    }
    if (this.queue.length > this.options.memoryLimit) this.spillSoon();
  }

  /** Replays one batch from the spill file; false when there was nothing to read. */
  private async writeSpilled(): Promise<boolean> {
    const batch = this.spill.peek(this.options.batchSize);
    if (!batch) return false;
    if (batch.skipped > 0) this.logger.warn({ skipped: batch.skipped, path: this.options.spillPath }, "unreadable lines in usage spill file skipped");
    if (batch.rows.length > 0) await this.writer.write(batch.rows);
    if (!this.closed) this.spill.consume(batch.end);
    return true;
  }

  private async touchKeys(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = this.lastUsed;
    this.lastUsed = new Map();
    try {
      await this.store.touchKeys(batch);
    } catch (err) {
      for (const [keyId, at] of batch) this.noteKeyUse(keyId, at);
      throw err;
    }
  }

  private failed(err: unknown): void {
    this.failures++;
    this.retryDelayMs = this.retryDelayMs === 0 ? this.backoff.minMs : Math.min(this.retryDelayMs * 2, this.backoff.maxMs);
    if (this.outageSince !== null) return;
    this.outageSince = Date.now();
    this.logger.warn({ err, queued: this.queueDepth, spillBytes: this.spillBytes }, "usage store writes failing; rows are kept and retried");
  }

  private recovered(): void {
    this.retryDelayMs = 0;
    if (this.outageSince === null) return;
    this.logger.info({ downMs: Date.now() - this.outageSince, failedWrites: this.failures }, "usage store writes recovered");
    this.outageSince = null;
  }

  private schedule(ms: number): void {
    this.clearTimer();
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.kick();
    }, ms);
    // The server's listener keeps the process alive; a lone recorder must not.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function checkOptions(o: RecorderOptions): void {
  for (const key of ["flushIntervalMs", "batchSize", "memoryLimit"] as const)
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new RangeError(`usage recorder: ${key} must be a positive integer, got ${o[key]}`);
  if (!o.spillPath) throw new RangeError("usage recorder: spillPath is required");
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
