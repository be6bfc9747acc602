/**
 * The request path for every Ollama route, in the order it runs:
 * authenticate -> read body -> policy -> limits -> proxy (stream + meter) -> record.
 */
import type { Server } from "bun";
import type { KeyVerifier } from "../keys/verifier.ts";
import { relayBody, type RelayEnd } from "../proxy/relay.ts";
import { createMeter, meterKind, prepareRequest } from "../proxy/meter.ts";
import { downstreamHeaders, upstreamHeaders } from "../proxy/headers.ts";
import { parseJsonObject, readBodyLimited } from "../proxy/request-body.ts";
import type { Principal } from "../store/store.ts";
import { authenticate, AuthError } from "./auth.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import type { LimitGate, Ticket } from "./limit-gate.ts";
import type { Logger } from "./logger.ts";
import type { Metrics, RejectionReason } from "./metrics.ts";
import { checkPolicy, filterModelListing, PolicyError, type RequestFacts, type Route, routeOf } from "./policy.ts";
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

/** Responses up to this size with a Content-Length are read whole; larger or unsized ones stream. */
const SMALL_BODY = 1024 * 1024;
const LISTINGS = new Set(["/api/tags", "/api/ps", "/v1/models"]);

export type GatewayHandler = (request: Request, server: Server<unknown>, requestId: string) => Promise<Response>;

export function createGateway(deps: GatewayDeps): GatewayHandler {
  const { verifier, gate, metrics } = deps;

  return async function handle(request, server, requestId) {
    const started = performance.now();
    const url = new URL(request.url);
    const path = url.pathname;
    const method = request.method;
    const route = routeOf(method, path);
    const clientAddress = server.requestIP(request)?.address ?? "unknown";

    let principal: Principal | null = null;
    let facts: RequestFacts = { model: null, unloads: false };
    let ticket: Ticket;
    let body: Uint8Array | ReadableStream<Uint8Array> | null;
    let stripUsage = false;
    let streamed = false;
    try {
      principal = await authenticate(verifier, request.headers, clientAddress);
      const prepared = await readRequest(request, route, principal, deps.maxBodyBytes);
      body = prepared.body;
      facts = prepared.facts;
      stripUsage = prepared.stripUsage;
      streamed = prepared.stream;
      checkPolicy(principal, route, method, path, facts);
      ticket = await gate.admit(principal);
    } catch (err) {
      return refuse(err, principal, route, facts, method, path, requestId, started);
    }

    const abort = new AbortController();
    const onClientAbort = () => abort.abort();
    request.signal.addEventListener("abort", onClientAbort, { once: true });
    const done = (status: number, counts: { promptTokens: number; completionTokens: number }, end: RelayEnd | "refused") => {
      request.signal.removeEventListener("abort", onClientAbort);
      metrics.inFlight.dec();
      gate.finish(principal, ticket, counts.promptTokens + counts.completionTokens);
      deps.requestLog.complete(completion(principal, route, facts.model, method, path, requestId, started, status, counts, end));
    };

    metrics.inFlight.inc();
    metrics.overhead.observe((performance.now() - started) / 1000);
    server.timeout(request, 0); // a model load before the first byte, and long streams, must not meet the idle timeout
    const sentAt = performance.now();
    let upstream: Response;
    try {
      upstream = await fetch(deps.upstreamUrl + path + url.search, {
        method,
        headers: upstreamHeaders(request.headers),
        body: method === "GET" || method === "HEAD" ? null : body,
        signal: abort.signal,
        redirect: "manual",
        duplex: "half",
      });
    } catch (err) {
      const clientGone = request.signal.aborted;
      if (!clientGone) metrics.upstreamErrors.inc({ kind: "unreachable" });
      done(clientGone ? 499 : 502, ZERO, clientGone ? "client_abort" : "upstream_error");
      if (!clientGone) deps.logger.error({ requestId, err: String(err) }, "upstream unreachable");
      return errorResponse(new GatewayError("upstream_unreachable", `upstream Ollama unreachable at ${deps.upstreamUrl}`), path, requestId);
    }
    metrics.ttfb.observe({ endpoint: route.endpoint }, (performance.now() - sentAt) / 1000);
    if (upstream.status >= 500) metrics.upstreamErrors.inc({ kind: `status_${upstream.status}` });

    const own: Record<string, string> = { "x-request-id": requestId, ...ticket.headers };
    const contentType = upstream.headers.get("content-type") ?? "";
    const length = Number(upstream.headers.get("content-length") ?? NaN);
    const kind = meterKind(path, contentType, streamed);
    const meter = createMeter(kind, { stripUsage });

    if (!upstream.body || method === "HEAD") {
      done(upstream.status, ZERO, "complete");
      return new Response(null, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, false) });
    }

    const allowlist = principal.models;
    if (length <= SMALL_BODY || (allowlist && LISTINGS.has(route.endpoint))) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await upstream.arrayBuffer());
      } catch {
        const clientGone = request.signal.aborted;
        done(clientGone ? 499 : 502, ZERO, clientGone ? "client_abort" : "upstream_error");
        return errorResponse(new GatewayError("upstream_unreachable", "upstream closed the connection mid-response"), path, requestId);
      }
      let rewritten = false;
      if (allowlist && LISTINGS.has(route.endpoint) && upstream.ok) {
        const listing = parseJsonObject(bytes);
        if (listing) {
          bytes = new TextEncoder().encode(JSON.stringify(filterModelListing(route.endpoint, listing, allowlist)));
          rewritten = true;
        }
      } else {
        const passed = meter.push(bytes);
        const tail = meter.end();
        if (passed !== bytes || tail) {
          bytes = Buffer.concat([passed ?? new Uint8Array(0), tail ?? new Uint8Array(0)]);
          rewritten = true;
        }
      }
      done(statusOf(upstream.status, meter.counts().error), meter.counts(), "complete");
      return new Response(bytes, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, rewritten) });
    }

    const relayed = relayBody(upstream.body, meter, () => abort.abort(), (end) => {
      const counts = meter.counts();
      const status = end === "client_abort" ? 499 : end === "upstream_error" ? 502 : statusOf(upstream.status, counts.error);
      if (end === "upstream_error") metrics.upstreamErrors.inc({ kind: "reset" });
      done(status, counts, end);
    });
    return new Response(relayed, { status: upstream.status, headers: downstreamHeaders(upstream.headers, own, stripUsage) });
  };

  function refuse(err: unknown, principal: Principal | null, route: Route, facts: RequestFacts, method: string, path: string, requestId: string, started: number): Response {
    if (!(err instanceof GatewayError)) throw err;
    const reason: RejectionReason | null = err instanceof AuthError || err instanceof PolicyError ? err.reason : err.code === "body_too_large" ? "body_too_large" : null;
    if (reason) metrics.rejections.inc({ reason });
    deps.requestLog.complete(completion(principal, route, facts.model, method, path, requestId, started, err.status, ZERO, "refused"));
    return errorResponse(err, path, requestId);
  }
}

const ZERO = { promptTokens: 0, completionTokens: 0 };

/** A mid-stream `{"error": ...}` keeps HTTP 200 for the client but is a failed request in usage. */
function statusOf(upstreamStatus: number, midStreamError: string | null): number {
  return midStreamError && upstreamStatus < 400 ? 500 : upstreamStatus;
}

function completion(
  principal: Principal | null,
  route: Route,
  model: string | null,
  method: string,
  path: string,
  requestId: string,
  started: number,
  status: number,
  counts: { promptTokens: number; completionTokens: number },
  end: RelayEnd | "refused",
): Completion {
  return { principal, endpoint: route.endpoint, model, method, path, requestId, durationMs: performance.now() - started, status, promptTokens: counts.promptTokens, completionTokens: counts.completionTokens, end };
}

interface PreparedRequest {
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  facts: RequestFacts;
  stripUsage: boolean;
  stream: boolean;
}

/** Reads what policy and metering need from the body; blob uploads by admins stream through unread. */
async function readRequest(request: Request, route: Route, principal: Principal, maxBodyBytes: number): Promise<PreparedRequest> {
  const method = request.method;
  if (method === "GET" || method === "HEAD") {
    const model = route.endpoint === "/v1/models/:model" ? decodeURIComponent(new URL(request.url).pathname.slice("/v1/models/".length)) : null;
    return { body: null, facts: { model, unloads: false }, stripUsage: false, stream: false };
  }
  if (route.endpoint === "/api/blobs/:digest" && principal.user.role === "admin") {
    return { body: request.body, facts: { model: null, unloads: false }, stripUsage: false, stream: false };
  }
  const bytes = await readBodyLimited(request, maxBodyBytes);
  const json = parseJsonObject(bytes);
  if (!json) return { body: bytes, facts: { model: null, unloads: false }, stripUsage: false, stream: false };
  const prepared = prepareRequest(route.endpoint, json);
  const body = prepared.body === json ? bytes : new TextEncoder().encode(JSON.stringify(prepared.body));
  return { body, facts: { model: prepared.model, unloads: unloads(route.endpoint, json) }, stripUsage: prepared.stripUsage, stream: prepared.stream };
}

function unloads(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint !== "/api/generate" && endpoint !== "/api/chat") return false;
  const keepAlive = body.keep_alive;
  if (keepAlive !== 0 && keepAlive !== "0" && keepAlive !== "0s") return false;
  return endpoint === "/api/generate" ? !body.prompt : !Array.isArray(body.messages) || body.messages.length === 0;
}
