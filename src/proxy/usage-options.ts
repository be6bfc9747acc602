// Request side of metering: what the response will be, and the upstream body
// that makes an OpenAI stream report its usage.

export interface UpstreamBody {
  /**
   * The body to send upstream. The very same object as the one passed in when
   * unchanged, so the caller can forward the client's original bytes; a new
   * object (to serialize) only when stream_options was added.
   */
  body: unknown;
  /** The gateway added include_usage: remove the usage Ollama adds from the response. */
  stripUsage: boolean;
  model: string | null;
  /** Whether the response will stream, by the endpoint's default when the body does not say. */
  stream: boolean;
}

/** Native endpoints whose responses stream unless the body says "stream": false. */
const NATIVE_STREAMING = new Set(["/api/generate", "/api/chat", "/api/pull", "/api/push", "/api/create"]);

/** OpenAI endpoints where Ollama reports stream usage only on request (middleware/openai.go). */
const USAGE_ON_REQUEST = new Set(["/v1/chat/completions", "/v1/completions"]);

/**
 * Reads the model and the stream flag of a parsed request body and, for
 * /v1/chat/completions and /v1/completions streams without
 * stream_options.include_usage, asks upstream for usage (keeping the client's
 * other stream_options).
 */
export function prepareRequest(path: string, b: Record<string, unknown>): UpstreamBody {
  const stream = NATIVE_STREAMING.has(path) ? b.stream !== false : b.stream === true;
  const model = modelOf(path, b);
  if (!stream || !USAGE_ON_REQUEST.has(path) || includesUsage(b.stream_options)) {
    return { body: b, stripUsage: false, model, stream };
  }
  const options = isObject(b.stream_options) ? b.stream_options : {};
  return { body: { ...b, stream_options: { ...options, include_usage: true } }, stripUsage: true, model, stream };
}

// Native requests may still name the model "name" (pull, push, show, delete accept it).
function modelOf(path: string, body: Record<string, unknown>): string | null {
  if (typeof body.model === "string" && body.model !== "") return body.model;
  if (path.startsWith("/api/") && typeof body.name === "string" && body.name !== "") return body.name;
  return null;
}

function includesUsage(options: unknown): boolean {
  return isObject(options) && options.include_usage === true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
