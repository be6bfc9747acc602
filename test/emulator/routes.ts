/**
 * The route table: Ollama's paths (server/routes.go GenerateRoutes) plus two emulator-only
 * control paths under /_emulator/. Each route says how its errors are shaped and whether it reads
 * a JSON body, so the server can answer a missing or malformed body as Ollama does.
 */
import type { Handler } from "./context.ts";
import { textResponse } from "./http.ts";
import { chatHandler, generateHandler } from "./native/generate-chat.ts";
import { copyHandler, deleteHandler, psHandler, showHandler, tagsHandler, versionHandler } from "./native/catalog.ts";

/** Which compatibility layer answers: it decides the error shape. */
export type Flavour = "ollama" | "openai" | "anthropic";

export interface Route {
  handler: Handler;
  flavour: Flavour;
  /** The handler reads a JSON body (an empty one is "missing request body" / "EOF"). */
  json: boolean;
}

const running: Handler = () => textResponse("Ollama is running");

const native = (handler: Handler, json = true): Route => ({ handler, flavour: "ollama", json });

/** Exact routes, keyed "METHOD /path". */
const EXACT = new Map<string, Route>([
  ["GET /", native(running, false)],
  ["HEAD /", native(running, false)],
  ["GET /api/version", native(versionHandler, false)],
  ["HEAD /api/version", native(versionHandler, false)],
  ["GET /api/tags", native(tagsHandler, false)],
  ["HEAD /api/tags", native(tagsHandler, false)],
  ["GET /api/ps", native(psHandler, false)],
  ["POST /api/show", native(showHandler)],
  ["POST /api/generate", native(generateHandler)],
  ["POST /api/chat", native(chatHandler)],
  ["POST /api/copy", native(copyHandler)],
  ["DELETE /api/delete", native(deleteHandler)],
]);

/** Routes with one trailing parameter, keyed "METHOD /prefix/". */
const PARAM = new Map<string, Route>([]);

export interface Match {
  route: Route;
  param: string;
}

/** The route for a request, "not found", or "method not allowed" (gin's HandleMethodNotAllowed). */
export function matchRoute(method: string, path: string): Match | 404 | 405 {
  const exact = EXACT.get(`${method} ${path}`);
  if (exact) return { route: exact, param: "" };
  const slash = path.lastIndexOf("/");
  const prefix = path.slice(0, slash + 1);
  const param = decodeURIComponent(path.slice(slash + 1));
  const withParam = PARAM.get(`${method} ${prefix}`);
  if (withParam && param !== "") return { route: withParam, param };
  const known = [...EXACT.keys()].some((k) => k.endsWith(` ${path}`)) || [...PARAM.keys()].some((k) => k.endsWith(` ${prefix}`));
  return known ? 405 : 404;
}
