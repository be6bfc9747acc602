import { describe, expect, it } from "vitest";
import { CRLF2, parseRequestHead, parseResponseHead, serializeHead } from "./http1.ts";

function head(text: string) {
  const buf = Buffer.from(text);
  return parseRequestHead(buf, buf.indexOf(CRLF2));
}

describe("parseRequestHead", () => {
  it("reads the plain shape API clients send", () => {
    const h = head("POST /api/chat?x=1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer k\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n");
    expect(h).toMatchObject({ method: "POST", path: "/api/chat", search: "?x=1", contentLength: 12, close: false });
    expect(h!.headers.get("authorization")).toBe("Bearer k");
    expect(head("GET /api/tags HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n")).toMatchObject({ contentLength: 0, close: true, search: "" });
  });

  // Each of these goes to Bun's own server, which answers or refuses it by its own rules.
  it.each([
    ["HTTP/1.0", "GET /api/tags HTTP/1.0\r\nHost: gw\r\n\r\n"],
    ["chunked body", "POST /api/chat HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["two lengths", "POST /api/chat HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"],
    ["length with a sign", "POST /api/chat HTTP/1.1\r\nContent-Length: +1\r\n\r\n"],
    ["expect", "POST /api/chat HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"],
    ["upgrade", "GET /api/tags HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"],
    ["dot segment", "GET /api/../metrics HTTP/1.1\r\nHost: gw\r\n\r\n"],
    ["percent-escape in the path", "GET /api/%2e%2e/metrics HTTP/1.1\r\nHost: gw\r\n\r\n"],
    ["absolute form", "GET http://gw/api/tags HTTP/1.1\r\nHost: gw\r\n\r\n"],
    ["folded header", "GET /api/tags HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n"],
    ["space before colon", "GET /api/tags HTTP/1.1\r\nHost : gw\r\n\r\n"],
    ["bad method", "G(T /api/tags HTTP/1.1\r\nHost: gw\r\n\r\n"],
  ])("leaves %s to Bun's server", (_name, text) => {
    expect(head(text)).toBeNull();
  });
});

describe("parseResponseHead", () => {
  it("reads status, reason and headers", () => {
    const buf = Buffer.from("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    const h = parseResponseHead(buf, buf.indexOf(CRLF2))!;
    expect(h.status).toBe(404);
    expect(h.reason).toBe("Not Found");
    expect(h.headers.get("content-type")).toBe("application/json");
  });

  it("refuses what is not HTTP/1.x", () => {
    const buf = Buffer.from("SSH-2.0-OpenSSH\r\n\r\n");
    expect(parseResponseHead(buf, buf.indexOf(CRLF2))).toBeNull();
  });
});

it("serializeHead writes a head a parser reads back", () => {
  const text = serializeHead("POST /api/chat HTTP/1.1", ["host", "content-length"], ["up:11434", "2"]);
  expect(text).toBe("POST /api/chat HTTP/1.1\r\nhost: up:11434\r\ncontent-length: 2\r\n\r\n");
  expect(head(text)).toMatchObject({ path: "/api/chat", contentLength: 2 });
});
