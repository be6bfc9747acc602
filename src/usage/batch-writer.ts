/**
 * Writes one batch of usage rows so that a retry can never store a row twice and one bad row
 * can never stop accounting.
 *
 * - StoreError "unavailable" (the database cannot be used now) is thrown to the recorder, which
 *   keeps the rows and retries with backoff.
 * - Any other error means the store answered and refused the batch. The batch is written again
 *   row by row:
 *   - "duplicate": the row is already stored (an earlier attempt committed but its answer was
 *     lost, or a replay was cut short by a crash); usage ids are UUIDs, so it is skipped.
 *   - anything else: the store refuses that row on its own (a value too long for its column,
 *     say). Retrying would block every later row forever, so it is set aside in the rejected
 *     file (JSON lines, beside the spill file) and logged, for an operator to look at.
 *   The row-by-row path runs only after such an incident; the ordinary path is one insert.
 */

import { appendFileSync } from "node:fs";
import { StoreError, type UsageRecord } from "../store/store.ts";
import type { UsageLogger } from "./logger.ts";
import type { UsageSink } from "./recorder.ts";

export class BatchWriter {
  written = 0;
  rejected = 0;

  constructor(
    private readonly store: UsageSink,
    private readonly rejectedPath: string,
    private readonly logger: UsageLogger,
  ) {}

  /** Stores rows not stored yet; throws only when the store is unavailable (then retry all). */
  async write(rows: UsageRecord[]): Promise<void> {
    try {
      await this.store.insertUsage(rows);
      this.written += rows.length;
    } catch (err) {
      if (isUnavailable(err)) throw err;
      await this.writeOneByOne(rows);
    }
  }

  private async writeOneByOne(rows: UsageRecord[]): Promise<void> {
    let skipped = 0;
    const refused: Array<{ row: UsageRecord; err: unknown }> = [];
    for (const row of rows) {
      try {
        await this.store.insertUsage([row]);
        this.written++;
      } catch (err) {
        if (isUnavailable(err)) throw err;
        if (err instanceof StoreError && err.code === "duplicate") skipped++;
        else refused.push({ row, err });
      }
    }
    if (skipped > 0) this.logger.info({ skipped, batch: rows.length }, "usage rows already stored were skipped");
    if (refused.length > 0) this.setAside(refused);
  }

  private setAside(refused: Array<{ row: UsageRecord; err: unknown }>): void {
    const ids = refused.map((r) => r.row.id);
    const err = refused[0]!.err;
    try {
      appendFileSync(this.rejectedPath, refused.map((r) => `${JSON.stringify(r.row)}\n`).join(""), { mode: 0o600 });
      this.rejected += refused.length;
      this.logger.error({ err, ids, path: this.rejectedPath }, "usage rows refused by the store were set aside");
    } catch (writeErr) {
      this.rejected += refused.length;
      this.logger.error({ err, writeErr, ids, rows: refused.map((r) => r.row) }, "usage rows refused by the store could not be set aside");
    }
  }
}

function isUnavailable(err: unknown): boolean {
  return err instanceof StoreError && err.code === "unavailable";
}
