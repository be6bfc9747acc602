import { describe, expect, it } from "vitest";
import { CRLF2, parseRequestHead, parseResponseHead, serializeHead } from "./http1.ts";

function head(text: string) {
  const buf = Buffer.from(text, "latin1");
  return parseRequestHead(buf, buf.indexOf(CRLF2));
}

describe("parseRequestHead", () => {
  it("reads the plain shape API clients send", () => {
    const h = head("POST /api/chat?x=1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer k\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n");
    expect(h).toMatchObject({ method: "POST", path: "/api/chat", search: "?x=1", contentLength: 12, close: false });
    expect(h!.headers.get("authorization")).toBe("Bearer k");
    expect(head("GET /api/tags HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n")).toMatchObject({ contentLength: 0, close: true, search: "" });
  });

  it("reads a header name in any case as the same lower-cased name, and trims only spaces and tabs", () => {
    for (const name of ["Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"]) {
      expect(head(`POST /api/chat HTTP/1.1\r\n${name}: \t application/json \r\n\r\n`)!.headers.get("content-type")).toBe("application/json");
    }
    expect(head("GET /api/tags HTTP/1.1\r\nX-Odd: \u00a0a b\u00a0\r\n\r\n")!.headers.get("x-odd")).toBe("\u00a0a b\u00a0");
    expect(head("GET /api/tags HTTP/1.1\r\n\r\n")).toMatchObject({ method: "GET", path: "/api/tags" });
    expect(head("post /api/chat HTTP/1.1\r\n\r\n")).toMatchObject({ method: "post" });
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
    ["control character in a value", "GET /api/tags HTTP/1.1\r\nX-A: a\vb\r\n\r\n"],
    ["bare LF in a header line", "GET /api/tags HTTP/1.1\r\nX-A: a\nX-B: b\r\n\r\n"],
    ["three spaces in the request line", "GET /api/tags x HTTP/1.1\r\nHost: gw\r\n\r\n"],
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

  it("reads a status line with no reason, or one of its own", () => {
    const read = (text: string) => {
      const buf = Buffer.from(text, "latin1");
      return parseResponseHead(buf, buf.indexOf(CRLF2));
    };
    expect(read("HTTP/1.0 204\r\n\r\n")).toMatchObject({ status: 204, reason: "" });
    expect(read("HTTP/1.1 200 \r\n\r\n")).toMatchObject({ status: 200, reason: "" });
    expect(read("HTTP/1.1 200 OK\r\nDate: x\r\n\r\n")).toMatchObject({ status: 200, reason: "OK" });
    expect(read("HTTP/1.1 599 Très occupé\r\n\r\n")).toMatchObject({ status: 599, reason: "Très occupé" });
  });

  it.each(["SSH-2.0-OpenSSH", "HTTP/2 200 OK", "HTTP/1.1 200OK", "HTTP/1.1 20 OK", "HTTP/1.2 200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1 200 O\nK"])("refuses %j", (line) => {
    const buf = Buffer.from(`${line}\r\n\r\n`);
    expect(parseResponseHead(buf, buf.indexOf(CRLF2))).toBeNull();
  });
});

it("serializeHead writes a head a parser reads back", () => {
  const text = serializeHead("POST /api/chat HTTP/1.1", ["host", "content-length"], ["up:11434", "2"]).toString("latin1");
  expect(text).toBe("POST /api/chat HTTP/1.1\r\nhost: up:11434\r\ncontent-length: 2\r\n\r\n");
  expect(head(text)).toMatchObject({ path: "/api/chat", contentLength: 2 });
});

it("serializeHead puts the body after the head, and writes latin1 values byte for byte", () => {
  const bytes = serializeHead("HTTP/1.1 200 OK", ["x-name"], ["caf\u00e9"], Buffer.from("abc"));
  const headLength = bytes.byteLength - 3;
  expect(bytes.subarray(headLength).toString("latin1")).toBe("abc");
  expect(bytes.subarray(0, headLength).toString("latin1")).toBe("HTTP/1.1 200 OK\r\nx-name: caf\u00e9\r\n\r\n");
  expect(bytes[headLength - 5]).toBe(0xe9); // one byte, as received
});
