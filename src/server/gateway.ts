/**
 * The request path for every Ollama route, in the order it runs:
 * authenticate -> read body -> policy -> limits -> proxy (stream + meter) -> record.
 */
import type { Server } from "bun";
import type { KeyVerifier } from "../keys/verifier.ts";
import { downstreamHeaders, upstreamHeaders } from "../proxy/headers.ts";
import { createMeter, meterKind } from "../proxy/meter.ts";
import { relayBody, type RelayEnd } from "../proxy/relay.ts";
import { parseJsonObject } from "../proxy/request-body.ts";
import type { Principal } from "../store/store.ts";
import { AuthError, authenticate, clientAddress } from "./auth.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import type { LimitGate, Ticket } from "./limit-gate.ts";
import type { Logger } from "./logger.ts";
import type { Metrics, RejectionReason } from "./metrics.ts";
import { checkPolicy, filterModelListing, PolicyError, type Route, routeOf } from "./policy.ts";
import { type PreparedRequest, readRequest } from "./prepared-request.ts";
import type { Completion, RequestLog } from "./request-log.ts";

export interface GatewayDeps {
  upstreamUrl: string;
  maxBodyBytes: number;
  verifier: KeyVerifier;
  gate: LimitGate;
  metrics: Metrics;
  logger: Logger;
  requestLog: RequestLog;
}

export type GatewayHandler = (request: Request, server: Server<unknown>, requestId: string) => Promise<Response>;

/** Responses up to this size with a Content-Length are read whole; larger or unsized ones stream. */
const SMALL_BODY = 1024 * 1024;
const LISTINGS = new Set(["/api/tags", "/api/ps", "/v1/models"]);

type Counts = { promptTokens: number; completionTokens: number };
const ZERO: Counts = { promptTokens: 0, completionTokens: 0 };

/** One request's facts as the path learns them; `complete` records it exactly once. */
interface Exchange {
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

interface Admitted {
  principal: Principal;
  prepared: PreparedRequest;
  ticket: Ticket;
}

export function createGateway(deps: GatewayDeps): GatewayHandler {
  const { verifier, gate, metrics } = deps;

  return async function handle(request, server, requestId) {
    const url = new URL(request.url);
    const x: Exchange = { requestId, started: performance.now(), method: request.method, path: url.pathname, search: url.search, route: routeOf(request.method, url.pathname), principal: null, model: null, upstreamMs: 0 };
    let admitted: Admitted;
    try {
      admitted = await admit(x, request, server);
    } catch (err) {
      return refuse(err, x);
    }
    return forward(x, request, server, admitted);
  };

  async function admit(x: Exchange, request: Request, server: Server<unknown>): Promise<Admitted> {
    const principal = await authenticate(verifier, request.headers, () => clientAddress(server, request));
    x.principal = principal;
    const prepared = await readRequest(request, x.path, x.route, principal, deps.maxBodyBytes);
    x.model = prepared.facts.model;
    checkPolicy(principal, x.route, x.method, x.path, prepared.facts);
    const ticket = await gate.admit(principal);
    return { principal, prepared, ticket };
  }

  function refuse(err: unknown, x: Exchange): Response {
    if (!(err instanceof GatewayError)) throw err;
    const reason: RejectionReason | null = err instanceof AuthError || err instanceof PolicyError ? err.reason : err.code === "body_too_large" ? "body_too_large" : null;
    if (reason) metrics.rejections.inc({ reason });
    deps.requestLog.complete(completion(x, err.status, ZERO, "refused"));
    return errorResponse(err, x.path, x.requestId);
  }

  async function forward(x: Exchange, request: Request, server: Server<unknown>, { principal, prepared, ticket }: Admitted): Promise<Response> {
    metrics.proxyStarted();
    server.timeout(request, 0); // a model load before the first byte, and long streams, must not meet the idle timeout
    const sentAt = performance.now();
    const done = (status: number, counts: Counts, end: RelayEnd) => {
      x.upstreamMs = performance.now() - sentAt;
      metrics.proxyEnded();
      gate.finish(principal, ticket, counts.promptTokens + counts.completionTokens);
      deps.requestLog.complete(completion(x, status, counts, end));
    };
    const failed = (message: string): Response => {
      const clientGone = request.signal.aborted;
      done(clientGone ? 499 : 502, ZERO, clientGone ? "client_abort" : "upstream_error");
      return errorResponse(new GatewayError("upstream_unreachable", message), x.path, x.requestId);
    };

    let upstream: Response;
    try {
      upstream = await fetch(deps.upstreamUrl + x.path + x.search, {
        method: x.method,
        headers: upstreamHeaders(request.headers),
        body: prepared.body,
        signal: request.signal, // Bun aborts it when the client goes away: the upstream call goes with it
        redirect: "manual",
        duplex: "half",
      });
    } catch (err) {
      if (!request.signal.aborted) {
        metrics.upstreamErrors.inc({ kind: "unreachable" });
        deps.logger.error({ requestId: x.requestId, err: String(err) }, "upstream unreachable");
      }
      return failed(`upstream Ollama unreachable at ${deps.upstreamUrl}`);
    }
    metrics.ttfb.observe([x.route.endpoint], (performance.now() - sentAt) / 1000);
    if (upstream.status >= 500) metrics.upstreamErrors.inc({ kind: `status_${upstream.status}` });

    const own: Record<string, string> = { "x-request-id": x.requestId, ...ticket.headers };
    if (!upstream.body || x.method === "HEAD") {
      done(upstream.status, ZERO, "complete");
      return new Response(null, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, false) });
    }
    const meter = createMeter(meterKind(x.path, upstream.headers.get("content-type"), prepared.stream), { stripUsage: prepared.stripUsage });
    const filtered = principal.models && LISTINGS.has(x.route.endpoint) ? principal.models : null;
    if (Number(upstream.headers.get("content-length") ?? NaN) <= SMALL_BODY || filtered) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await upstream.arrayBuffer());
      } catch {
        return failed("upstream closed the connection mid-response");
      }
      const body = filtered && upstream.ok ? filteredListing(x.route.endpoint, bytes, filtered) : meter.whole(bytes);
      const counts = meter.counts();
      done(statusOf(upstream.status, counts.error), counts, "complete");
      return new Response(body, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, body !== bytes) });
    }
    const relayed = relayBody(upstream.body, meter, (seen) => {
      // The client leaving aborts the upstream read through the shared signal: that is the client's doing.
      const end = seen === "upstream_error" && request.signal.aborted ? "client_abort" : seen;
      const counts = meter.counts();
      if (end === "upstream_error") metrics.upstreamErrors.inc({ kind: "reset" });
      done(end === "client_abort" ? 499 : end === "upstream_error" ? 502 : statusOf(upstream.status, counts.error), counts, end);
    });
    return new Response(relayed, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, prepared.stripUsage) });
  }
}

function filteredListing(endpoint: string, bytes: Uint8Array, allowlist: readonly string[]): Uint8Array {
  const listing = parseJsonObject(bytes);
  return listing ? Buffer.from(JSON.stringify(filterModelListing(endpoint, listing, allowlist))) : bytes;
}

/** A mid-stream `{"error": ...}` keeps HTTP 200 for the client but is a failed request in usage. */
function statusOf(upstreamStatus: number, midStreamError: string | null): number {
  return midStreamError && upstreamStatus < 400 ? 500 : upstreamStatus;
}

function completion(x: Exchange, status: number, counts: Counts, end: Completion["end"]): Completion {
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
