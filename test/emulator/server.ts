/** The emulator's HTTP server: Bun.serve, the Host check, body parsing, recording, routing. */
import type { Server } from "bun";
import type { RequestContext } from "./context.ts";
import { allowedHost } from "./host-check.ts";
import { anthropicError, emptyResponse, ginJson, ollamaError, openaiError } from "./http.ts";
import { EmulatorHeaderError, type ResolvedOptions } from "./options.ts";
import { Recorder } from "./recorder.ts";
import { type Flavour, matchRoute, type Route } from "./routes.ts";
import { EmulatorState } from "./state.ts";

export interface EmulatorServer {
  server: Server<undefined>;
  recorder: Recorder;
  state: EmulatorState;
}

export function serve(options: ResolvedOptions): EmulatorServer {
  const recorder = new Recorder(!options.fast);
  const state = new EmulatorState();
  const server = Bun.serve({
    port: options.port,
    hostname: options.hostname,
    // Never cut a slow first token or a long stream; real Ollama has no idle timeout either.
    idleTimeout: 0,
    development: false,
    fetch: (request) => handle(request, options, recorder, state),
  });
  return { server, recorder, state };
}

async function handle(request: Request, options: ResolvedOptions, recorder: Recorder, state: EmulatorState): Promise<Response> {
  const url = new URL(request.url);
  const control = controlRoute(request.method, url.pathname, recorder, state);
  if (control) return control;

  const match = matchRoute(request.method, url.pathname);
  const route = typeof match === "number" ? undefined : match.route;
  const raw = route?.json ? await request.text() : "";
  const body = parseJson(raw);
  const entry = recorder.start(request.method, url.pathname + url.search, request.headers, body);
  request.signal.addEventListener("abort", () => recorder.abort(entry), { once: true });

  const ctx: RequestContext = { request, url, param: "", body, entry, recorder, state, options, streaming: false };
  const response = await answer(ctx, match, raw);
  if (!ctx.streaming) recorder.finish(entry);
  return response;
}

async function answer(ctx: RequestContext, match: ReturnType<typeof matchRoute>, raw: string): Promise<Response> {
  if (!allowedHost(ctx.request.headers.get("host"))) return emptyResponse(403);
  if (match === 404) return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
  if (match === 405) return new Response("405 method not allowed", { status: 405, headers: { "content-type": "text/plain" } });
  const bodyError = match.route.json ? checkBody(match.route, raw, ctx.body) : undefined;
  if (bodyError) return bodyError;
  ctx.param = match.param;
  try {
    return await match.route.handler(ctx);
  } catch (error) {
    const status = error instanceof EmulatorHeaderError ? 400 : 500;
    return errorIn(match.route.flavour, status, (error as Error).message);
  }
}

/** A missing body reads as io.EOF in Go: natively "missing request body", in the middlewares "EOF". */
function checkBody(route: Route, raw: string, body: unknown): Response | undefined {
  if (raw.trim() === "") return errorIn(route.flavour, 400, route.flavour === "ollama" ? "missing request body" : "EOF");
  if (body === null) return errorIn(route.flavour, 400, `invalid character '${raw.trim()[0]}' looking for beginning of value`);
  return undefined;
}

export function errorIn(flavour: Flavour, status: number, message: string): Response {
  if (flavour === "openai") return openaiError(status, message);
  if (flavour === "anthropic") return anthropicError(status, message);
  return ollamaError(status, message);
}

function parseJson(raw: string): unknown {
  if (raw === "") return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/** Emulator-only paths for a benchmark driving a separate process: counters and reset. */
function controlRoute(method: string, path: string, recorder: Recorder, state: EmulatorState): Response | undefined {
  if (method === "GET" && path === "/_emulator/stats") return ginJson(200, recorder.stats);
  if (method === "POST" && path === "/_emulator/reset") {
    recorder.reset();
    state.reset();
    return emptyResponse(204);
  }
  return undefined;
}
