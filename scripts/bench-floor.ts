/**
 * The floor for any gateway built on Bun (scripts/bench's "bun-floor"): Bun.serve in front, Bun's
 * fetch to the upstream, the body passed through natively. No key, no limits, no metering, no log.
 * Whatever Parallama costs beyond this is its own work; what this costs beyond nginx is Bun's.
 *   bun scripts/bench-floor.ts PORT UPSTREAM_URL
 */
const [port, upstream] = process.argv.slice(2);
if (!port || !upstream) throw new Error("usage: bun scripts/bench-floor.ts PORT UPSTREAM_URL");

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port),
  idleTimeout: 255,
  async fetch(request) {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const response = await fetch(upstream + url.pathname + url.search, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer(),
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  },
});
