/**
 * The route table: Ollama's paths (server/routes.go GenerateRoutes) plus two emulator-only
 * control paths under /_emulator/. Each route says how its errors are shaped and whether it reads
 * a JSON body, so the server can answer a missing or malformed body as Ollama does.
 */
import type { Handler } from "./context.ts";
import { textResponse } from "./http.ts";
import { chatHandler, generateHandler } from "./native/generate-chat.ts";
import { copyHandler, deleteHandler, psHandler, showHandler, tagsHandler, versionHandler } from "./native/catalog.ts";
import { embedHandler, embeddingsHandler } from "./native/embed.ts";
import { createHandler, pullHandler, pushHandler } from "./native/progress.ts";
import { createBlobHandler, headBlobHandler } from "./native/blobs.ts";
import { meHandler, signoutHandler, webFetchHandler, webSearchHandler } from "./native/account.ts";
import { chatCompletionsHandler } from "./openai/chat-completions.ts";
import { completionsHandler } from "./openai/completions.ts";
import { openaiEmbeddingsHandler } from "./openai/embeddings.ts";
import { listModelsHandler, retrieveModelHandler } from "./openai/models.ts";
import { responsesHandler } from "./openai/responses.ts";
import { messagesHandler } from "./anthropic/messages.ts";

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
const openai = (handler: Handler, json = true): Route => ({ handler, flavour: "openai", json });

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
  ["POST /api/embed", native(embedHandler)],
  ["POST /api/embeddings", native(embeddingsHandler)],
  ["POST /api/pull", native(pullHandler)],
  ["POST /api/push", native(pushHandler)],
  ["POST /api/create", native(createHandler)],
  ["POST /api/me", native(meHandler, false)],
  ["POST /api/signout", native(signoutHandler, false)],
  ["POST /api/experimental/web_search", native(webSearchHandler)],
  ["POST /api/experimental/web_fetch", native(webFetchHandler)],
  ["POST /v1/chat/completions", openai(chatCompletionsHandler)],
  ["POST /v1/completions", openai(completionsHandler)],
  ["POST /v1/embeddings", openai(openaiEmbeddingsHandler)],
  ["GET /v1/models", openai(listModelsHandler, false)],
  ["POST /v1/responses", openai(responsesHandler)],
  ["POST /v1/messages", { handler: messagesHandler, flavour: "anthropic", json: true }],
]);

/** Routes with one trailing parameter, keyed "METHOD /prefix/". */
const PARAM = new Map<string, Route>([
  ["HEAD /api/blobs/", native(headBlobHandler, false)],
  // The body is the blob itself, hashed as it streams in.
  ["POST /api/blobs/", native(createBlobHandler, false)],
  ["DELETE /api/user/keys/", native(signoutHandler, false)],
  ["GET /v1/models/", openai(retrieveModelHandler, false)],
]);

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
