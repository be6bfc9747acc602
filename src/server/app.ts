/**
 * The HTTP surface, composed in one screen:
 *   /healthz, /readyz            health (no key)
 *   /metrics                     Prometheus (loopback or admin key, unless served on metrics.listen)
 *   /parallama/v1/me             the caller's own quota
 *   GET|HEAD /                   Ollama's liveness text, passed through without a key
 *   everything else              the gateway: auth -> policy -> limits -> proxy -> record
 */
import { Elysia } from "elysia";
import type { Server } from "bun";
import type { Principal } from "../store/store.ts";
import { authenticate, clientAddress } from "./auth.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import { createGateway, type GatewayDeps } from "./gateway.ts";
import type { LimitGate } from "./limit-gate.ts";
import type { Metrics } from "./metrics.ts";
import { readiness, type ReadinessDeps } from "./readiness.ts";
import { describeQuota } from "./quota.ts";
import { nextRequestId, requestUrl } from "./request-id.ts";

export interface AppDeps extends GatewayDeps, ReadinessDeps {
  gate: LimitGate;
  metrics: Metrics;
  /** Serve /metrics here (false when metrics.listen has its own server, or metrics are off). */
  metricsOnMain: boolean;
  /** Answers 503 to new requests once shutdown has begun. */
  isDraining(): boolean;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export function buildApp(deps: AppDeps) {
  const gateway = createGateway(deps);

  return new Elysia({ name: "parallama" })
    .get("/healthz", () => json({ status: "ok" }, 200, nextRequestId()))
    .get("/readyz", async () => {
      const report = await readiness(deps);
      return json(report.body, report.ok ? 200 : 503, nextRequestId());
    })
    .get("/metrics", async ({ request, server }) => {
      const id = nextRequestId();
      if (!deps.metricsOnMain) return errorResponse(new GatewayError("not_found", "metrics are not served on this address"), "/metrics", id);
      if (isLoopback(server, request)) return metricsResponse(deps.metrics);
      return withPrincipal(request, server, id, async (principal) => {
        if (principal.user.role !== "admin") throw new GatewayError("admin_only", "/metrics needs an admin key from a non-loopback address");
        return metricsResponse(deps.metrics);
      });
    })
    .get("/parallama/v1/me", ({ request, server }) => {
      const id = nextRequestId();
      return withPrincipal(request, server, id, async (principal) =>
        json(describeQuota(principal, deps.gate.limitsOf(principal), await deps.gate.state(principal)), 200, id),
      );
    })
    .all(
      "/*",
      async ({ request, server }) => {
        const id = nextRequestId();
        if (deps.isDraining()) return errorResponse(new GatewayError("shutting_down", "gateway is shutting down; retry on another instance"), requestUrl(request).pathname, id);
        return isLiveness(request) ? liveness(deps.upstreamUrl, request, id) : gateway(request, server!, id);
      },
      { parse: "none" },
    );

  /** Runs fn for the request's principal; an auth failure, or a GatewayError fn throws, is answered in the usual shape. */
  async function withPrincipal(request: Request, server: Server<unknown> | null, id: string, fn: (principal: Principal) => Promise<Response>): Promise<Response> {
    try {
      return await fn(await authenticate(deps.verifier, request.headers, () => clientAddress(server, request)));
    } catch (err) {
      if (err instanceof GatewayError) return errorResponse(err, requestUrl(request).pathname, id);
      throw err;
    }
  }
}

export async function metricsResponse(metrics: Metrics): Promise<Response> {
  return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } });
}

function json(body: unknown, status: number, requestId: string): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, "x-request-id": requestId } });
}


function isLoopback(server: Server<unknown> | null, request: Request): boolean {
  const address = clientAddress(server, request);
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function isLiveness(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const url = request.url;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  return pathStart === -1 || url.length === pathStart + 1;
}

/** GET / says whether Ollama runs; clients probe it before they send a key. */
async function liveness(upstreamUrl: string, request: Request, requestId: string): Promise<Response> {
  try {
    const upstream = await fetch(`${upstreamUrl}/`, { method: request.method });
    return new Response(request.method === "HEAD" ? null : await upstream.text(), {
      status: upstream.status,
      headers: { "content-type": upstream.headers.get("content-type") ?? "text/plain; charset=utf-8", "x-request-id": requestId },
    });
  } catch {
    return errorResponse(new GatewayError("upstream_unreachable", `upstream Ollama unreachable at ${upstreamUrl}`), "/", requestId);
  }
}
