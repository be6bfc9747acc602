/** Request ids: a per-process random prefix and a counter; unique across instances, and cheap. */
const prefix = crypto.randomUUID().slice(0, 8);
let counter = 0;

export function nextRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter.toString(36)}`;
}

/** The request's URL; Bun gives only the path when the request named no host (HTTP/1.0 without Host). */
export function requestUrl(request: Request): URL {
  return new URL(request.url, "http://localhost");
}
