/**
 * A deadline for the PostgreSQL driver's short operations. A server or network that goes silent
 * (no reset, no answer) would otherwise hold a pooled connection, and its caller, until the kernel
 * gives up on TCP minutes later; the usage flusher and the auth cache's miss path must get an error
 * instead. Each operation runs on one reserved connection; past the deadline that connection is
 * closed rather than returned to the pool, and the caller gets StoreError("unavailable").
 */
import type { ReservedSQL, SQL } from "bun";
import { StoreError } from "./store.ts";

export async function withDeadline<T>(pool: SQL, ms: number, where: string, fn: (db: SQL) => Promise<T>): Promise<T> {
  const silent = new StoreError("unavailable", `database unreachable: ${where}: no answer within ${ms / 1000} s`);
  const deadline = Date.now() + ms;
  let db: ReservedSQL;
  try {
    db = await pool.reserve({ signal: AbortSignal.timeout(ms) });
  } catch (error) {
    throw error instanceof Error && error.name === "TimeoutError" ? silent : error;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(silent), deadline - Date.now());
  });
  try {
    const result = await Promise.race([fn(db), expired]);
    await db.release();
    return result;
  } catch (error) {
    // A connection that did not answer in time may still be waiting on the server: never reuse it.
    await (error === silent ? db.close({ timeout: 0 }) : db.release());
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
