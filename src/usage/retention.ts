/** Retention: raw usage rows older than retentionDays are pruned; hourly rollups stay for reports. */

import type { Store } from "../store/store.ts";
import type { UsageLogger } from "./logger.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Prunes once now and then every intervalMs (default one hour); returns a stop function.
 * retentionDays 0 keeps raw rows forever (nothing runs). The timer does not keep the process alive.
 */
export function startRetention(
  store: Pick<Store, "pruneUsage">,
  retentionDays: number,
  logger: UsageLogger,
  intervalMs = HOUR_MS,
): () => void {
  if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new RangeError(`usage retention: retentionDays must be a whole number >= 0, got ${retentionDays}`);
  if (retentionDays === 0) return () => {};
  let running = false;
  const prune = async () => {
    if (running) return; // a slow prune on a big table must not overlap the next one
    running = true;
    try {
      const before = new Date(Date.now() - retentionDays * DAY_MS);
      const deleted = await store.pruneUsage(before);
      if (deleted > 0) logger.info({ deleted, before: before.toISOString() }, "pruned raw usage rows");
    } catch (err) {
      logger.warn({ err }, "usage retention prune failed; retrying at the next interval");
    } finally {
      running = false;
    }
  };
  void prune();
  const timer = setInterval(prune, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
