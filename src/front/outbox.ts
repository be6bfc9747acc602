/**
 * Ordered writes to a socket that may take only part of what it is given. What it does not take
 * waits here, in order, until the socket's drain event; `idle` says whether anything waits, so
 * the side feeding it can pause until it drains.
 */
import type { Socket } from "bun";

export class Outbox {
  private readonly waiting: Uint8Array[] = [];

  constructor(private readonly socket: Socket<any>) {}

  get idle(): boolean {
    return this.waiting.length === 0;
  }

  /** Writes bytes now or queues them; returns idle afterwards. */
  write(bytes: Uint8Array | string): boolean {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    if (data.byteLength === 0) return this.idle;
    if (this.waiting.length > 0) {
      this.waiting.push(data);
      return false;
    }
    const written = this.socket.write(data);
    if (written >= data.byteLength) return true;
    this.waiting.push(data.subarray(Math.max(0, written)));
    return false;
  }

  /** On the socket's drain event: writes what waits; returns idle afterwards. */
  drain(): boolean {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const written = this.socket.write(next);
      if (written < next.byteLength) {
        this.waiting[0] = next.subarray(Math.max(0, written));
        return false;
      }
      this.waiting.shift();
    }
    return true;
  }
}
