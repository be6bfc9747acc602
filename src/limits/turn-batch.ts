/**
 * Groups calls by key and runs each group as one call: under load, the requests of one user
 * become one Redis script call per round trip instead of one each. A group is sent at the end of
 * the turn it arrived in (setImmediate) unless a call for its key is still in flight; then it
 * waits for that answer and goes in the next call with whatever else arrived meanwhile. An idle
 * gateway therefore adds no wait, and a busy one sends each user's requests at most once per
 * round trip, still in arrival order, each decided as if alone.
 */
export type RunBatch<In, Out> = (key: string, inputs: In[]) => Promise<Out[]>;

interface Waiter<In, Out> {
  input: In;
  resolve(out: Out): void;
  reject(err: unknown): void;
}

export class TurnBatcher<In, Out> {
  /** Ready to send at the end of this turn. */
  private groups = new Map<string, Waiter<In, Out>[]>();
  /** Waiting for the call in flight for their key to answer. */
  private readonly held = new Map<string, Waiter<In, Out>[]>();
  private readonly inFlight = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly run: RunBatch<In, Out>,
    /** A longer group is sent as several calls of at most this many inputs. */
    private readonly maxBatch = 256,
  ) {}

  add(key: string, input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const waiter = { input, resolve, reject };
      const queue = this.inFlight.has(key) ? this.held : this.groups;
      const group = queue.get(key);
      if (group) group.push(waiter);
      else queue.set(key, [waiter]);
      if (queue === this.groups) this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const groups = this.groups;
    this.groups = new Map();
    this.scheduled = false;
    // add() queues a key here only while no call of its is in flight.
    for (const [key, waiters] of groups) void this.send(key, waiters);
  }

  private async send(key: string, waiters: Waiter<In, Out>[]): Promise<void> {
    this.inFlight.add(key);
    const calls: Promise<void>[] = [];
    for (let at = 0; at < waiters.length; at += this.maxBatch) calls.push(this.call(key, waiters.slice(at, at + this.maxBatch)));
    await Promise.all(calls);
    this.inFlight.delete(key);
    const held = this.held.get(key);
    if (!held) return;
    // Goes at the end of this turn, ahead of what else arrives in it: arrival order is kept.
    this.held.delete(key);
    this.groups.set(key, held);
    this.schedule();
  }

  private async call(key: string, waiters: Waiter<In, Out>[]): Promise<void> {
    try {
      const outs = await this.run(key, waiters.map((w) => w.input));
      if (outs.length !== waiters.length) throw new Error(`batch of ${waiters.length} answered with ${outs.length} results`);
      waiters.forEach((w, i) => w.resolve(outs[i]!));
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}
