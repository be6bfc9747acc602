/**
 * The "record" step: one usage row, the metrics and one log line per finished request.
 * Everything here is synchronous and in memory; the usage recorder writes rows off the path.
 */
import type { Principal, UsageRecord } from "../store/store.ts";
import type { LogSink } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/** The store's model_name column holds 255 characters; a longer name from a client is cut, not refused. */
const MAX_MODEL_NAME = 255;

export interface Completion {
  principal: Principal | null;
  endpoint: string;
  model: string | null;
  method: string;
  path: string;
  requestId: string;
  durationMs: number;
  /** Of durationMs, the time spent waiting on the upstream (0 when refused before it). */
  upstreamMs: number;
  status: number;
  promptTokens: number;
  completionTokens: number;
  /** How the exchange ended: refused by the gateway, or how the upstream body ended. */
  end: "refused" | "complete" | "client_abort" | "upstream_error";
}

/** Where finished requests' usage rows go (the batching recorder). */
export interface UsageQueue {
  record(row: UsageRecord): void;
}

export class RequestLog {
  constructor(
    private readonly usage: UsageQueue,
    private readonly metrics: Metrics,
    private readonly log: LogSink["request"],
  ) {}

  /** Exchanges recorded since start: a cheap activity signal (see server/allocator.ts). */
  completed = 0;

  complete(c: Completion): void {
    this.completed++;
    const user = c.principal?.user;
    const model = this.metrics.modelLabel(c.model);
    this.metrics.requests.inc([c.endpoint, model, String(c.status)]);
    this.metrics.duration.observe([c.endpoint], c.durationMs / 1000);
    if (c.end !== "refused") this.metrics.overhead.observe([], (c.durationMs - c.upstreamMs) / 1000);
    if (user) {
      this.metrics.countTokens(model, user.name, c.promptTokens, c.completionTokens);
      this.usage.record({
        // Time-ordered ids append to the primary-key index instead of touching random pages.
        id: Bun.randomUUIDv7(),
        at: new Date(),
        userId: user.id,
        userName: user.name,
        keyId: c.principal!.key.keyId,
        method: c.method,
        endpoint: c.endpoint,
        model: c.model && c.model.length > MAX_MODEL_NAME ? c.model.slice(0, MAX_MODEL_NAME) : c.model,
        promptTokens: c.promptTokens,
        completionTokens: c.completionTokens,
        durationMs: c.durationMs,
        status: c.status,
      });
    }
    this.log?.(requestLineJson(c, user?.name ?? null));
  }
}

/**
 * A request line's fields as JSON text: what JSON.stringify makes of an object of them, built
 * without the object (JSON.stringify was 2% of the gateway's samples under small requests).
 */
export function requestLineJson(c: Completion, user: string | null): string {
  return `{"msg":"request","id":${jsonString(c.requestId)},"user":${user === null ? "null" : jsonString(user)},"method":${jsonString(c.method)},"path":${jsonString(c.path)},"model":${c.model === null ? "null" : jsonString(c.model)},"status":${jsonNumber(c.status)},"prompt_tokens":${jsonNumber(c.promptTokens)},"completion_tokens":${jsonNumber(c.completionTokens)},"duration_ms":${jsonNumber(Math.round(c.durationMs * 100) / 100)},"upstream_ms":${jsonNumber(Math.round(c.upstreamMs * 100) / 100)},"end":"${c.end}"}`;
}

/** Printable ASCII but the quote and the backslash: JSON.stringify would add only the quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}
