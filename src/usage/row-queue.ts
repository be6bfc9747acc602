/**
 * A FIFO of usage rows with O(1) push. Array#shift/splice from the front are O(n), and the queue
 * may hold memoryLimit (default 100,000) rows during an outage, so the front is a moving index
 * and the array is compacted only when half of it is dead.
 */

import type { UsageRecord } from "../store/store.ts";

export class RowQueue {
  private items: UsageRecord[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(row: UsageRecord): void {
    this.items.push(row);
  }

  /** Removes and returns up to n rows from the front, oldest first. */
  takeFront(n: number): UsageRecord[] {
    const rows = this.items.slice(this.head, this.head + n);
    this.head += rows.length;
    this.compact();
    return rows;
  }

  /** Puts rows back at the front (a batch whose write failed), keeping their order. */
  putFront(rows: UsageRecord[]): void {
    if (rows.length === 0) return;
    this.items = rows.concat(this.items.slice(this.head));
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
