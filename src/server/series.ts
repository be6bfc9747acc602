/**
 * Counters and histograms for the request path. prom-client hashes a label object on every
 * inc/observe (about a microsecond each, five per request); these keep one plain object per
 * label set, found through one map per label (no key string made per lookup), and hand
 * prom-client's registry the values only when /metrics is scraped. The exposition format is
 * prom-client's own: these register as metrics.
 */
import type { Metric, MetricValue, Registry } from "prom-client";

interface Exported {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: (MetricValue<string> & { metricName?: string })[];
  aggregator: "sum";
}

/** Label values to series, one map level a label: a lookup makes no key string. */
type Level<S> = Map<string, Level<S> | S>;

abstract class Series<S> {
  private readonly root: Level<S> = new Map();
  private readonly list: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values (in labelNames order), created on first use. */
  protected series(values: readonly string[]): S {
    let level = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Level<S> | undefined;
      if (!next) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const key = last < 0 ? "" : values[last]!; // no labels: one series
    let s = level.get(key) as S | undefined;
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      s = this.create(labels);
      level.set(key, s);
      this.list.push(s);
    }
    return s;
  }

  protected abstract create(labels: Record<string, string>): S;

  protected all(): readonly S[] {
    return this.list;
  }

  reset(): void {
    this.root.clear();
    this.list.length = 0;
  }
}

interface CounterSeries {
  labels: Record<string, string>;
  value: number;
}

export class FastCounter extends Series<CounterSeries> {
  readonly type = "counter";

  inc(values: readonly string[], by = 1): void {
    this.series(values).value += by;
  }

  protected create(labels: Record<string, string>): CounterSeries {
    return { labels, value: 0 };
  }

  async get(): Promise<Exported> {
    return { name: this.name, help: this.help, type: "counter", aggregator: "sum", values: this.all().map((s) => ({ labels: s.labels, value: s.value })) };
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram extends Series<HistogramSeries> {
  readonly type = "histogram";

  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry, readonly buckets: readonly number[]) {
    super(name, help, labelNames, registry);
  }

  observe(values: readonly string[], seconds: number): void {
    const s = this.series(values);
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }

  async get(): Promise<Exported> {
    const values: Exported["values"] = [];
    for (const s of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}
