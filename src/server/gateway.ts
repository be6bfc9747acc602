/**
 * The request path for every Ollama route, in the order it runs:
 * authenticate -> read body -> policy -> limits -> proxy (stream + meter) -> record.
 */
import type { Server } from "bun";
import type { KeyVerifier } from "../keys/verifier.ts";
import { downstreamHeaders, upstreamHeaders } from "../proxy/headers.ts";
import { createMeter, meterKind } from "../proxy/meter.ts";
import { relayBody, type RelayEnd } from "../proxy/relay.ts";
import { clientAddress } from "./auth.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import { admit, type Admitted, type Counts, type Exchange, filteredListing, finish, LISTINGS, newExchange, refuse, statusOf, ZERO } from "./exchange.ts";
import type { LimitGate } from "./limit-gate.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { readRequest } from "./prepared-request.ts";
import { requestUrl } from "./request-id.ts";
import type { RequestLog } from "./request-log.ts";

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

export function createGateway(deps: GatewayDeps): GatewayHandler {
  const { metrics } = deps;

  return async function handle(request, server, requestId) {
    const url = requestUrl(request);
    const x = newExchange(requestId, request.method, url.pathname, url.search);
    let admitted: Admitted;
    try {
      admitted = await admit(deps, x, request.headers, () => clientAddress(server, request), (principal) => readRequest(request, x.path, x.route, principal, deps.maxBodyBytes));
    } catch (err) {
      return refuse(deps, err, x);
    }
    return forward(x, request, server, admitted);
  };

  async function forward(x: Exchange, request: Request, server: Server<unknown>, admitted: Admitted): Promise<Response> {
    const { principal, prepared, ticket } = admitted;
    metrics.proxyStarted();
    server.timeout(request, 0); // a model load before the first byte, and long streams, must not meet the idle timeout
    const sentAt = performance.now();
    const done = (status: number, counts: Counts, end: RelayEnd) => finish(deps, x, admitted, sentAt, status, counts, end);
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
