/**
 * What both request paths share (the front's own sockets, and Bun's server for what the front
 * hands over): one exchange's facts, admission (authenticate -> read body -> policy -> limits),
 * the refusal record, and the completion record.
 */
import type { KeyVerifier } from "../keys/verifier.ts";
import { parseJsonObject } from "../proxy/request-body.ts";
import type { Principal } from "../store/store.ts";
import { AuthError, authenticate, type HeaderReader } from "./auth.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import type { LimitGate, Ticket } from "./limit-gate.ts";
import type { Metrics, RejectionReason } from "./metrics.ts";
import { checkPolicy, filterModelListing, PolicyError, type Route, routeOf } from "./policy.ts";
import type { PreparedRequest } from "./prepared-request.ts";
import type { Completion, RequestLog } from "./request-log.ts";

export interface ExchangeDeps {
  verifier: KeyVerifier;
  gate: LimitGate;
  metrics: Metrics;
  requestLog: RequestLog;
}

export type Counts = { promptTokens: number; completionTokens: number };
export const ZERO: Counts = { promptTokens: 0, completionTokens: 0 };

/** Listings filtered by a principal's model allowlist. */
export const LISTINGS = new Set(["/api/tags", "/api/ps", "/v1/models"]);

/** One request's facts as the path learns them; completion() records it exactly once. */
export interface Exchange {
  requestId: string;
  started: number;
  method: string;
  path: string;
  search: string;
  route: Route;
  principal: Principal | null;
  model: string | null;
  /** Time spent waiting on the upstream: from sending until its body was read to the end. */
  upstreamMs: number;
}

export interface Admitted {
  principal: Principal;
  prepared: PreparedRequest;
  ticket: Ticket;
}

export function newExchange(requestId: string, method: string, path: string, search: string): Exchange {
  return { requestId, started: performance.now(), method, path, search, route: routeOf(method, path), principal: null, model: null, upstreamMs: 0 };
}

/** Admits the exchange or throws the GatewayError that refuses it. */
export async function admit(
  deps: ExchangeDeps,
  x: Exchange,
  headers: HeaderReader,
  address: () => string,
  read: (principal: Principal) => PreparedRequest | Promise<PreparedRequest>,
): Promise<Admitted> {
  const authenticated = authenticate(deps.verifier, headers, address);
  const principal = authenticated instanceof Promise ? await authenticated : authenticated;
  x.principal = principal;
  const reading = read(principal);
  const prepared = reading instanceof Promise ? await reading : reading;
  x.model = prepared.facts.model;
  checkPolicy(principal, x.route, x.method, x.path, prepared.facts);
  const ticket = await deps.gate.admit(principal);
  return { principal, prepared, ticket };
}

/** Records a proxied exchange once its upstream part is over: frees the limiter's slot, settles tokens, logs. */
export function finish(deps: ExchangeDeps, x: Exchange, { principal, ticket }: Admitted, sentAt: number, status: number, counts: Counts, end: Completion["end"]): void {
  x.upstreamMs = performance.now() - sentAt;
  deps.metrics.proxyEnded();
  deps.gate.finish(principal, ticket, counts.promptTokens + counts.completionTokens);
  deps.requestLog.complete(completion(x, status, counts, end));
}

/** Records a refused exchange and renders its error; anything but a GatewayError is a bug and rethrown. */
export function refuse(deps: ExchangeDeps, err: unknown, x: Exchange): Response {
  if (!(err instanceof GatewayError)) throw err;
  const reason: RejectionReason | null = err instanceof AuthError || err instanceof PolicyError ? err.reason : err.code === "body_too_large" ? "body_too_large" : null;
  if (reason) deps.metrics.rejections.inc({ reason });
  deps.requestLog.complete(completion(x, err.status, ZERO, "refused"));
  return errorResponse(err, x.path, x.requestId);
}

export function filteredListing(endpoint: string, bytes: Uint8Array, allowlist: readonly string[]): Uint8Array {
  const listing = parseJsonObject(bytes);
  return listing ? Buffer.from(JSON.stringify(filterModelListing(endpoint, listing, allowlist))) : bytes;
}

/** A mid-stream `{"error": ...}` keeps HTTP 200 for the client but is a failed request in usage. */
export function statusOf(upstreamStatus: number, midStreamError: string | null): number {
  return midStreamError && upstreamStatus < 400 ? 500 : upstreamStatus;
}

export function completion(x: Exchange, status: number, counts: Counts, end: Completion["end"]): Completion {
  return {
    principal: x.principal,
    endpoint: x.route.endpoint,
    model: x.model,
    method: x.method,
    path: x.path,
    requestId: x.requestId,
    durationMs: performance.now() - x.started,
    upstreamMs: x.upstreamMs,
    status,
    promptTokens: counts.promptTokens,
    completionTokens: counts.completionTokens,
    end,
  };
}
