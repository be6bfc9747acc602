import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { FastCounter, FastHistogram } from "./series.ts";

/** Why a request was refused before reaching the upstream; a label of parallama_rejections_total. */
export type RejectionReason =
  | "auth_missing"
  | "auth_invalid"
  | "auth_revoked"
  | "auth_expired"
  | "auth_disabled"
  | "auth_throttled"
  | "policy_admin_only"
  | "policy_model"
  | "limit_requests_hourly"
  | "limit_requests_daily"
  | "limit_tokens_hourly"
  | "limit_tokens_daily"
  | "limit_concurrency"
  | "limiter_unavailable"
  | "body_too_large";

const MAX_MODEL_LABELS = 200;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** Every metric the gateway exports; names are listed in docs/grafana-dashboard.json too. */
export class Metrics {
  readonly registry = new Registry();
  // The per-request series (updated on every request) are FastCounter/FastHistogram; the rest are prom-client's.
  readonly requests = new FastCounter("parallama_requests_total", "Requests answered, by endpoint, model and status.", ["endpoint", "model", "status"], this.registry);
  readonly duration = new FastHistogram("parallama_request_duration_seconds", "Time from request to the end of the response body.", ["endpoint"], this.registry, LATENCY_BUCKETS);
  readonly ttfb = new FastHistogram("parallama_upstream_ttfb_seconds", "Time from sending upstream to the upstream's response headers.", ["endpoint"], this.registry, LATENCY_BUCKETS);
  readonly overhead = new FastHistogram(
    "parallama_overhead_seconds",
    "Time the gateway itself adds: request duration minus the time spent waiting on the upstream.",
    [],
    this.registry,
    OVERHEAD_BUCKETS,
  );
  readonly tokens: FastCounter;
  readonly rejections = new Counter({
    name: "parallama_rejections_total",
    help: "Requests refused by the gateway, by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: "parallama_upstream_errors_total",
    help: "Upstream failures: unreachable, reset mid-stream, error status.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly limiterErrors = new Counter({
    name: "parallama_limiter_errors_total",
    help: "Requests decided by redis.on_error because the limiter was unreachable.",
    labelNames: ["decision"] as const,
    registers: [this.registry],
  });

  constructor(
    readonly perUser: boolean,
    usage: { queueDepth(): number; spillBytes(): number },
  ) {
    this.tokens = new FastCounter(
      "parallama_tokens_total",
      "Input and output tokens, by model (and user when metrics.per_user is on).",
      perUser ? ["model", "direction", "user"] : ["model", "direction"],
      this.registry,
    );
    sampledGauge(this.registry, "parallama_in_flight_requests", "Requests being proxied now.", () => this.inFlightNow);
    sampledGauge(this.registry, "parallama_usage_queue_depth", "Usage rows waiting to be written to the store.", () => usage.queueDepth());
    sampledGauge(this.registry, "parallama_usage_spill_bytes", "Bytes of usage rows spilled to disk while the store was unreachable.", () => usage.spillBytes());
    collectDefaultMetrics({ register: this.registry });
  }

  private readonly modelLabels = new Set<string>();
  private inFlightNow = 0;

  /** Requests being proxied now, for draining (the gauge's own value is only readable asynchronously). */
  get inFlightCount(): number {
    return this.inFlightNow;
  }

  proxyStarted(): void {
    this.inFlightNow++;
  }

  proxyEnded(): void {
    this.inFlightNow--;
  }

  /**
   * Model names come from request bodies, so a client could send endless distinct names; past a
   * bound, new names share one label to keep every series set finite.
   */
  modelLabel(model: string | null): string {
    if (model == null) return "";
    if (this.modelLabels.has(model)) return model;
    if (this.modelLabels.size >= MAX_MODEL_LABELS || model.length > 128) return "other";
    this.modelLabels.add(model);
    return model;
  }

  countTokens(model: string, user: string, input: number, output: number): void {
    if (input > 0) this.tokens.inc(this.perUser ? [model, "input", user] : [model, "input"], input);
    if (output > 0) this.tokens.inc(this.perUser ? [model, "output", user] : [model, "output"], output);
  }
}

/** A gauge whose value is read when /metrics is scraped, so nothing is updated per request. */
function sampledGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
