import { describe, expect, it } from "vitest";
import { downstreamHeaders, upstreamHeaders } from "./headers.ts";

describe("upstreamHeaders", () => {
  it("drops hop-by-hop headers, those the Connection header names, the client's credentials and Host", () => {
    const out = upstreamHeaders(
      new Headers({
        host: "gateway.example:8000",
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic abc",
        authorization: "Bearer plm_secret",
        "x-api-key": "plm_secret",
        "transfer-encoding": "chunked",
        "content-length": "12",
        "accept-encoding": "gzip",
        "content-type": "application/json",
        "user-agent": "ollama-js/0.6",
        "x-emulator": "{}",
      }),
    );
    expect([...out.keys()].sort()).toEqual(["content-type", "user-agent", "x-emulator"]);
  });
});

describe("downstreamHeaders", () => {
  const upstream = new Headers({ "content-type": "application/x-ndjson", "content-length": "99", connection: "close", "transfer-encoding": "chunked", date: "Sat" });

  it("keeps the upstream's own headers and adds the gateway's", () => {
    const out = downstreamHeaders(upstream, { "x-request-id": "r1", "ratelimit-limit": "5" }, false);
    expect(Object.fromEntries(out)).toEqual({ "content-type": "application/x-ndjson", "content-length": "99", date: "Sat", "x-request-id": "r1", "ratelimit-limit": "5" });
  });

  it("drops Content-Length when the gateway changed the body", () => {
    expect(downstreamHeaders(upstream, {}, true).has("content-length")).toBe(false);
  });
});
