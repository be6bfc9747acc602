/** What the gateway reads from a request before policy and limits: the body to forward and the facts about it. */
import { prepareRequest } from "../proxy/usage-options.ts";
import { parseJsonObject, readBodyLimited } from "../proxy/request-body.ts";
import type { Principal } from "../store/store.ts";
import type { RequestFacts, Route } from "./policy.ts";

export interface PreparedRequest {
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  facts: RequestFacts;
  /** The gateway added stream_options.include_usage; remove what it adds before the client sees it. */
  stripUsage: boolean;
  stream: boolean;
}

const encoder = new TextEncoder();
const NO_FACTS: RequestFacts = { model: null, unloads: false };

/** Reads what policy and metering need from the body; blob uploads by admins stream through unread. */
export async function readRequest(request: Request, path: string, route: Route, principal: Principal, maxBodyBytes: number): Promise<PreparedRequest> {
  const method = request.method;
  if (method === "GET" || method === "HEAD") return bodiless(path, route);
  if (isAdminUpload(route, principal)) return { body: request.body, facts: NO_FACTS, stripUsage: false, stream: false };
  return prepareBody(route, await readBodyLimited(request, maxBodyBytes));
}

/** readRequest for a body the front has already read whole (within server.max_body_size). */
export function prepareRequestBytes(method: string, path: string, route: Route, principal: Principal, bytes: Uint8Array): PreparedRequest {
  if (method === "GET" || method === "HEAD") return bodiless(path, route);
  if (isAdminUpload(route, principal)) return { body: bytes, facts: NO_FACTS, stripUsage: false, stream: false };
  return prepareBody(route, bytes);
}

function bodiless(path: string, route: Route): PreparedRequest {
  const model = route.endpoint === "/v1/models/:model" ? decodeURIComponent(path.slice("/v1/models/".length)) : null;
  return { body: null, facts: { model, unloads: false }, stripUsage: false, stream: false };
}

function isAdminUpload(route: Route, principal: Principal): boolean {
  return route.endpoint === "/api/blobs/:digest" && principal.user.role === "admin";
}

function prepareBody(route: Route, bytes: Uint8Array): PreparedRequest {
  const json = parseJsonObject(bytes);
  if (!json) return { body: bytes, facts: NO_FACTS, stripUsage: false, stream: false };
  const prepared = prepareRequest(route.endpoint, json);
  const body = upstreamBytes(bytes, json, prepared.body);
  return { body, facts: { model: prepared.model, unloads: unloads(route.endpoint, json) }, stripUsage: prepared.stripUsage, stream: prepared.stream };
}

/** The client's own bytes unless the body had to change. */
function upstreamBytes(bytes: Uint8Array, json: Record<string, unknown>, body: unknown): Uint8Array {
  if (body === json) return bytes;
  // The one change is stream_options for usage; where the client sent none, it is written into
  // the client's bytes rather than the whole body serialized again (OpenAI clients rarely send it).
  const spliced = Object.hasOwn(json, "stream_options") ? null : withIncludeUsage(bytes);
  return spliced ?? encoder.encode(JSON.stringify(body));
}

const INCLUDE_USAGE = encoder.encode('"stream_options":{"include_usage":true}');
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The object in bytes with "stream_options":{"include_usage":true} as its first member; null if bytes does not start with "{". */
export function withIncludeUsage(bytes: Uint8Array): Uint8Array | null {
  const open = skipWhitespace(bytes, 0);
  if (bytes[open] !== OPEN_BRACE) return null;
  const empty = bytes[skipWhitespace(bytes, open + 1)] === CLOSE_BRACE;
  const out = new Uint8Array(bytes.length + INCLUDE_USAGE.length + (empty ? 0 : 1));
  out.set(bytes.subarray(0, open + 1));
  out.set(INCLUDE_USAGE, open + 1);
  let at = open + 1 + INCLUDE_USAGE.length;
  if (!empty) out[at++] = 0x2c; // ,
  out.set(bytes.subarray(open + 1), at);
  return out;
}

/** JSON's insignificant whitespace: space, tab, line feed, carriage return. */
function skipWhitespace(bytes: Uint8Array, at: number): number {
  while (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d) at++;
  return at;
}

/** generate or chat with keep_alive 0 and nothing to generate: Ollama unloads the model. */
function unloads(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint !== "/api/generate" && endpoint !== "/api/chat") return false;
  const keepAlive = body.keep_alive;
  if (keepAlive !== 0 && keepAlive !== "0" && keepAlive !== "0s") return false;
  return endpoint === "/api/generate" ? !body.prompt : !Array.isArray(body.messages) || body.messages.length === 0;
}
