/**
 * Response helpers that reproduce the bytes Ollama's Go server writes: gin's `c.JSON` (compact, no
 * trailing newline, `application/json; charset=utf-8`) for native routes, and `json.NewEncoder`
 * (trailing newline, `application/json`) for the OpenAI and Anthropic compatibility writers.
 */

const GIN_JSON = "application/json; charset=utf-8";

/** A native JSON answer, as gin's c.JSON writes it. */
export function ginJson(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": GIN_JSON } });
}

/** A native error: `{"error":"..."}`. */
export function ollamaError(status: number, message: string): Response {
  return ginJson(status, { error: message });
}

/** A compatibility-layer JSON answer, as json.NewEncoder writes it (note the newline). */
export function encoderJson(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } });
}

/** OpenAI's error shape, typed by status as openai.NewError does. */
export function openaiError(status: number, message: string): Response {
  const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "api_error";
  return encoderJson(status, { error: { message, type, param: null, code: null } });
}

/** A body-less answer (gin's c.Status / c.AbortWithStatus). */
export function emptyResponse(status: number): Response {
  return new Response(null, { status });
}

export function textResponse(text: string): Response {
  return new Response(text, { headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** A timestamp like Go's time.Time in UTC (RFC 3339 with nanoseconds, trailing zeros trimmed). */
export function goTimestamp(now = Date.now()): string {
  const iso = new Date(now).toISOString();
  const nanos = `${iso.slice(20, 23)}${String(Math.floor((performance.now() % 1) * 1e6)).padStart(6, "0")}`;
  const trimmed = nanos.replace(/0+$/, "");
  return `${iso.slice(0, 19)}${trimmed ? `.${trimmed}` : ""}Z`;
}

/** Random digits, as Ollama's ids use (`chatcmpl-NNN`, `cmpl-NNN`, `resp_NNNNNN`). */
export function randomDigits(below: number): number {
  return Math.floor(Math.random() * below);
}

/** Anthropic's error shape, typed by status as anthropic.NewError does. */
export function anthropicError(status: number, message: string): Response {
  return encoderJson(status, { type: "error", error: { type: anthropicErrorType(status), message }, request_id: `req_${randomHex(12)}` });
}

function anthropicErrorType(status: number): string {
  const types: Record<number, string> = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
  };
  return types[status] ?? "api_error";
}

export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
