/**
 * Groups calls that arrive in the same turn of the event loop by key and runs each group as one
 * call: under load, the requests one turn delivers become one Redis script call per user instead
 * of one each. A group is sent at the end of the turn (setImmediate), so an idle gateway adds no
 * wait and a busy one adds at most the turn it is already in.
 */
export type RunBatch<In, Out> = (key: string, inputs: In[]) => Promise<Out[]>;

interface Waiter<In, Out> {
  input: In;
  resolve(out: Out): void;
  reject(err: unknown): void;
}

export class TurnBatcher<In, Out> {
  private groups = new Map<string, Waiter<In, Out>[]>();
  private scheduled = false;

  constructor(
    private readonly run: RunBatch<In, Out>,
    /** A longer group is sent as several calls of at most this many inputs. */
    private readonly maxBatch = 256,
  ) {}

  add(key: string, input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const group = this.groups.get(key);
      if (group) group.push({ input, resolve, reject });
      else this.groups.set(key, [{ input, resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const groups = this.groups;
    this.groups = new Map();
    this.scheduled = false;
    for (const [key, waiters] of groups) {
      for (let at = 0; at < waiters.length; at += this.maxBatch) void this.send(key, waiters.slice(at, at + this.maxBatch));
    }
  }

  private async send(key: string, waiters: Waiter<In, Out>[]): Promise<void> {
    try {
      const outs = await this.run(key, waiters.map((w) => w.input));
      if (outs.length !== waiters.length) throw new Error(`batch of ${waiters.length} answered with ${outs.length} results`);
      waiters.forEach((w, i) => w.resolve(outs[i]!));
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}
