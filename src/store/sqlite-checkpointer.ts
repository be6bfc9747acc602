/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * takes the WAL past 1,000 pages: it copies them into the database file and fsyncs it on the
 * committing thread. In the gateway that thread serves every request, and under load 1.4% of
 * 64-row usage batches took 10-17 ms for it (p99 of a batch 10.6-15 ms; 0.8 ms with checkpoints
 * on a worker). So the gateway checkpoints on a worker thread with a connection of its own.
 *
 * A checkpoint that races the writer never lets the WAL start over, and it grew to 180 MB in a
 * minute of sustained writes; even a PASSIVE checkpoint between commits left it growing (measured
 * with bun:sqlite: the next commit appended instead of restarting once the WAL held more than ~100
 * frames). So the writer asks for a checkpoint after a commit (every CHECKPOINT_ROWS rows, or
 * INTERVAL_MS) and holds its next write, without blocking the event loop, while the worker runs a
 * TRUNCATE checkpoint: it copies the WAL, waits at most CHECKPOINT_BUSY_MS for readers, and empties
 * the WAL itself. Whenever the worker cannot do its job, the main connection checkpoints on commit
 * again, as SQLite does by default.
 */
import { Database } from "bun:sqlite";

/** About 1,000 WAL pages of usage rows: SQLite's own threshold. */
const CHECKPOINT_ROWS = 4096;
const INTERVAL_MS = 1000;
/** SQLite's default wal_autocheckpoint, in pages. */
const AUTOCHECKPOINT_PAGES = 1000;
/**
 * How long the worker's checkpoint waits for readers (a long report from the CLI) before it gives
 * up until next time; it holds the write lock meanwhile, so it must be well under MAX_WAIT_MS.
 */
const CHECKPOINT_BUSY_MS = 1000;
/** A write never waits longer than this for a checkpoint. */
const MAX_WAIT_MS = 5000;

/**
 * The worker's whole program, sent to it as source text (so the compiled binary needs no extra
 * entry point): it may use nothing from this module. In: { path, busyMs }, then "checkpoint"
 * (any number of times), then "stop". Out: "ready", "checkpointed", { error }, "stopped".
 */
function checkpointWorker(Sqlite: typeof Database): void {
  const port = globalThis as unknown as Worker;
  let db: Database | null = null;
  const report = (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) });
  port.onmessage = (event: MessageEvent<{ path: string; busyMs: number } | "checkpoint" | "stop">) => {
    const message = event.data;
    try {
      if (message === "checkpoint") {
        // Readers still busy after busyMs: SQLite answers busy and the next checkpoint tries again.
        db!.run("PRAGMA wal_checkpoint(TRUNCATE)");
        port.postMessage("checkpointed");
      } else if (message === "stop") {
        db?.close();
        port.postMessage("stopped");
      } else {
        db = new Sqlite(message.path, { readwrite: true });
        db.run(`PRAGMA busy_timeout = ${message.busyMs}`);
        port.postMessage("ready");
      }
    } catch (error) {
      report(error);
    }
  };
}

const WORKER_SOURCE = `import { Database } from "bun:sqlite";\n(${checkpointWorker.toString()})(Database);\n`;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private active = false;
  private terminated = false;
  private rowsSince = 0;
  private lastAt = performance.now();
  /** Resolves when the checkpoint in progress is done; null when none is. */
  private running: Promise<void> | null = null;
  private finishRunning: (() => void) | null = null;
  private stopped: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.worker = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" })));
    this.worker.unref();
    this.worker.onmessage = (event: MessageEvent) => this.heard(event.data);
    this.worker.onerror = (event) => this.fail(event.message);
    this.worker.postMessage({ path, busyMs: CHECKPOINT_BUSY_MS });
  }

  /**
   * Before a write: waits, off the event loop, while a checkpoint holds the write lock (at most
   * MAX_WAIT_MS in all). It loops because another write that waited too may have started the next one.
   */
  async beforeWrite(): Promise<void> {
    const deadline = performance.now() + MAX_WAIT_MS;
    while (this.running) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await Promise.race([this.running, Bun.sleep(left)]);
    }
  }

  /** After a committed write of `rows` rows: starts a checkpoint when one is due. */
  wrote(rows: number): void {
    this.rowsSince += rows;
    if (!this.active || this.running) return;
    if (this.rowsSince < CHECKPOINT_ROWS && performance.now() - this.lastAt < INTERVAL_MS) return;
    this.rowsSince = 0;
    this.lastAt = performance.now();
    this.running = new Promise((resolve) => (this.finishRunning = resolve));
    this.worker.postMessage("checkpoint");
  }

  /** Closes the worker's connection; the main connection checkpoints again (and on its own close). */
  async stop(): Promise<void> {
    this.fallBack();
    if (this.terminated) return;
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    this.worker.postMessage("stop");
    await Promise.race([done, Bun.sleep(MAX_WAIT_MS)]);
    this.terminate();
  }

  private heard(message: unknown): void {
    if (message === "ready") {
      this.active = true;
      this.db.run("PRAGMA wal_autocheckpoint = 0");
    } else if (message === "checkpointed") {
      this.settle();
    } else if (message === "stopped") {
      this.stopped?.();
    } else if (typeof message === "object" && message !== null && "error" in message) {
      this.fail(String(message.error));
    }
  }

  private settle(): void {
    this.running = null;
    this.finishRunning?.();
    this.finishRunning = null;
  }

  private fail(reason: string): void {
    this.fallBack();
    this.terminate();
    this.onError(new Error(`background WAL checkpoints of ${this.path} stopped (${reason}); SQLite checkpoints on commit again`));
  }

  private terminate(): void {
    this.terminated = true;
    this.worker.terminate();
  }

  private fallBack(): void {
    this.settle();
    if (!this.active) return;
    this.active = false;
    this.db.run(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }
}
