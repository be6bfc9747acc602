/** Shared by the usage tests: rows, a store wrapper that can fail or hold writes. */

import { StoreError, type Store, type UsageRecord } from "../store/store.ts";
import type { UsageLogger } from "./logger.ts";
import type { UsageSink } from "./recorder.ts";

export function usageRow(n: number, keyId: string | null = null): UsageRecord {
  return {
    id: crypto.randomUUID(),
    at: new Date(Date.UTC(2026, 0, 1, 12, 0, 0, n)),
    userId: null,
    userName: "alice",
    keyId,
    method: "POST",
    endpoint: "/api/chat",
    model: "llama3",
    promptTokens: n,
    completionTokens: 2 * n,
    durationMs: 12.5,
    status: 200,
  };
}

export function usageRows(count: number): UsageRecord[] {
  return Array.from({ length: count }, (_, i) => usageRow(i));
}

/**
 * The real store, seen through a switch: while `down`, writes throw before reaching it; while
 * `hold` is set, each write waits for it; `loseAnswers` writes that commit and then throw, as when
 * the connection drops before the reply. Records the size of every batch the store accepted.
 */
export class SwitchableSink implements UsageSink {
  down = false;
  hold: Promise<void> | null = null;
  loseAnswers = 0;
  batches: number[] = [];
  touches: Array<Map<string, Date>> = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly store: Store) {}

  async insertUsage(rows: UsageRecord[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hold) await this.hold;
      if (this.down) throw new StoreError("unavailable", "database unreachable (test switch)");
      await this.store.insertUsage(rows);
      this.batches.push(rows.length);
      if (this.loseAnswers > 0 && this.loseAnswers--) throw new StoreError("unavailable", "connection lost after commit (test switch)");
    } finally {
      this.inFlight--;
    }
  }

  async touchKeys(lastUsed: Map<string, Date>): Promise<void> {
    if (this.down) throw new StoreError("unavailable", "database unreachable (test switch)");
    this.touches.push(new Map(lastUsed));
    await this.store.touchKeys(lastUsed);
  }
}

/** A logger that keeps its messages, to assert how often something was logged. */
export function memoryLogger(): UsageLogger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** Ids stored in usage_logs and the rollups' request total, through the Store interface. */
export async function storedUsage(store: Store): Promise<{ ids: string[]; rolledUp: number }> {
  const dump = await store.dump();
  const rolledUp = dump.rollups.reduce((sum, r) => sum + r.requests, 0);
  return { ids: dump.usage.map((u) => u.id), rolledUp };
}
