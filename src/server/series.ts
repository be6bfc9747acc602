/**
 * Counters and histograms for the request path. prom-client hashes a label object on every
 * inc/observe (about a microsecond each, five per request); these keep one plain object per
 * label set, found by a string key, and hand prom-client's registry the values only when
 * /metrics is scraped. The exposition format is prom-client's own: these register as metrics.
 */
import type { Metric, MetricValue, Registry } from "prom-client";

interface Exported {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: (MetricValue<string> & { metricName?: string })[];
  aggregator: "sum";
}

abstract class Series<S> {
  private readonly byKey = new Map<string, S>();

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
    const key = values.length === 1 ? values[0]! : values.join("\u0000");
    let s = this.byKey.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      s = this.create(labels);
      this.byKey.set(key, s);
    }
    return s;
  }

  protected abstract create(labels: Record<string, string>): S;

  protected all(): IterableIterator<S> {
    return this.byKey.values();
  }

  reset(): void {
    this.byKey.clear();
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
    return { name: this.name, help: this.help, type: "counter", aggregator: "sum", values: [...this.all()].map((s) => ({ labels: s.labels, value: s.value })) };
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
