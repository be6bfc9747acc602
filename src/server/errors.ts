/**
 * The gateway's own errors: one type, one table of codes and statuses, one renderer that
 * speaks Ollama's shape (`{"error": "..."}`) or, on /v1/*, OpenAI's.
 */

export type ErrorCode =
  | "auth_missing"
  | "auth_malformed"
  | "auth_unknown"
  | "auth_revoked"
  | "auth_expired"
  | "auth_disabled"
  | "auth_throttled"
  | "admin_only"
  | "model_not_allowed"
  | "limit_exceeded"
  | "limiter_unavailable"
  | "body_too_large"
  | "bad_request"
  | "not_found"
  | "upstream_unreachable"
  | "shutting_down"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  auth_missing: 401,
  auth_malformed: 401,
  auth_unknown: 401,
  auth_revoked: 401,
  auth_expired: 401,
  auth_disabled: 401,
  auth_throttled: 429,
  admin_only: 403,
  model_not_allowed: 403,
  limit_exceeded: 429,
  limiter_unavailable: 503,
  body_too_large: 413,
  bad_request: 400,
  not_found: 404,
  upstream_unreachable: 502,
  shutting_down: 503,
  internal: 500,
};

const OPENAI_TYPE: Partial<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "invalid_request_error",
  429: "rate_limit_exceeded",
};

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = STATUS[code];
  }
}

/** Renders a gateway error in the shape the client's API family expects. */
export function errorResponse(err: GatewayError, path: string, requestId: string): Response {
  const body = path.startsWith("/v1/")
    ? { error: { message: err.message, type: OPENAI_TYPE[err.status] ?? "api_error", param: null, code: err.code } }
    : { error: err.message };
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId, ...err.headers },
  });
}
