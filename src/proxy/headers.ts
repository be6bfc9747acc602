/** Header rules for a transparent proxy: drop hop-by-hop headers both ways and the client's credentials upstream. */

export const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** Never forwarded upstream: the gateway's credentials, and what fetch sets itself (Host, length, encoding). */
export const NOT_UPSTREAM = [...HOP_BY_HOP, "host", "content-length", "authorization", "x-api-key", "accept-encoding"];
const NOT_DOWNSTREAM = [...HOP_BY_HOP, "content-encoding"];

/** Names a message's Connection header lists: hop-by-hop for that message only. */
export function connectionListed(headers: { get(name: string): string | null }): string[] {
  const value = headers.get("connection");
  return value ? value.split(",").map((s) => s.trim().toLowerCase()) : [];
}

/**
 * The headers to send upstream. Host is left to fetch, which sets the upstream's own (Ollama
 * bound to loopback answers 403 to a foreign Host). accept-encoding is dropped so the upstream
 * answers in identity encoding and the meter can read the body.
 */
export function upstreamHeaders(incoming: Headers): Headers {
  // A native copy then deletes costs about half of copying header by header in JS.
  const out = new Headers(incoming);
  for (const name of connectionListed(incoming)) out.delete(name);
  for (const name of NOT_UPSTREAM) out.delete(name);
  return out;
}

/** The upstream's response headers as the client gets them, plus the gateway's own. */
export function downstreamHeaders(upstream: Headers, own: Record<string, string>, bodyRewritten: boolean): Headers {
  const out = new Headers(upstream);
  for (const name of connectionListed(upstream)) out.delete(name);
  for (const name of NOT_DOWNSTREAM) out.delete(name);
  if (bodyRewritten) out.delete("content-length");
  for (const name in own) out.set(name, own[name]!);
  return out;
}
