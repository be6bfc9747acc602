// Which meter reads a response. The upstream's Content-Type decides between a
// stream and a JSON body, not the request's stream flag: a streaming request
// that fails before its first chunk gets a plain JSON error body. The flag
// only decides when the upstream sent no Content-Type.

export type MeterKind =
  | "native-stream"
  | "openai-chat-stream"
  | "openai-completions-stream"
  | "responses-stream"
  | "anthropic-stream"
  | "json"
  /** No counts to read (/api/embeddings, /api/tags, pulls, ...): bytes pass through. */
  | "none";

const SSE_KINDS: Record<string, MeterKind> = {
  "/v1/chat/completions": "openai-chat-stream",
  "/v1/completions": "openai-completions-stream",
  "/v1/responses": "responses-stream",
  "/v1/messages": "anthropic-stream",
};

/** Paths whose responses carry token counts. */
const METERED = new Set(["/api/generate", "/api/chat", "/api/embed", "/v1/embeddings", ...Object.keys(SSE_KINDS)]);

/** The meter for a response to `path` (the route, without query string). */
export function meterKind(path: string, contentType: string | null, stream: boolean): MeterKind {
  if (!METERED.has(path)) return "none";
  const type = mediaType(contentType) || (stream ? "stream" : "application/json");
  if (type === "application/json") return "json";
  if (type === "application/x-ndjson" || type === "stream") return streamKind(path);
  if (type === "text/event-stream") return SSE_KINDS[path] ?? "none";
  return "none";
}

function streamKind(path: string): MeterKind {
  return path.startsWith("/api/") ? "native-stream" : (SSE_KINDS[path] ?? "none");
}

/** Upstreams send a handful of Content-Type values; each is cut down to its media type once. */
const MEDIA_TYPES = new Map<string, string>();
const MAX_MEDIA_TYPES = 64;

function mediaType(contentType: string | null): string {
  if (!contentType) return "";
  const known = MEDIA_TYPES.get(contentType);
  if (known !== undefined) return known;
  const semi = contentType.indexOf(";");
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (MEDIA_TYPES.size < MAX_MEDIA_TYPES) MEDIA_TYPES.set(contentType, type);
  return type;
}
