import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
  readonly requests = new Counter({
    name: "parallama_requests_total",
    help: "Requests answered, by endpoint, model and status.",
    labelNames: ["endpoint", "model", "status"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "parallama_request_duration_seconds",
    help: "Time from request to the end of the response body.",
    labelNames: ["endpoint"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ttfb = new Histogram({
    name: "parallama_upstream_ttfb_seconds",
    help: "Time from sending upstream to the upstream's response headers.",
    labelNames: ["endpoint"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: "parallama_overhead_seconds",
    help: "Time the gateway itself adds: request duration minus the time spent waiting on the upstream.",
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens: Counter<"model" | "direction" | "user">;
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
  readonly inFlight = new Gauge({
    name: "parallama_in_flight_requests",
    help: "Requests being proxied now.",
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
    this.tokens = new Counter({
      name: "parallama_tokens_total",
      help: "Input and output tokens, by model (and user when metrics.per_user is on).",
      labelNames: perUser ? ["model", "direction", "user"] : ["model", "direction"],
      registers: [this.registry],
    });
    new Gauge({
      name: "parallama_usage_queue_depth",
      help: "Usage rows waiting to be written to the store.",
      registers: [this.registry],
      collect() {
        this.set(usage.queueDepth());
      },
    });
    new Gauge({
      name: "parallama_usage_spill_bytes",
      help: "Bytes of usage rows spilled to disk while the store was unreachable.",
      registers: [this.registry],
      collect() {
        this.set(usage.spillBytes());
      },
    });
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
    this.inFlight.inc();
  }

  proxyEnded(): void {
    this.inFlightNow--;
    this.inFlight.dec();
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
    if (input > 0) this.tokens.inc(this.perUser ? { model, direction: "input", user } : { model, direction: "input" }, input);
    if (output > 0) this.tokens.inc(this.perUser ? { model, direction: "output", user } : { model, direction: "output" }, output);
  }
}
