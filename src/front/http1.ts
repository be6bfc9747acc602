/**
 * HTTP/1.1 message heads as the front reads and writes them. The parser is deliberately narrow:
 * it accepts only the plain shape every API client sends (HTTP/1.1, origin-form target, token
 * header names, at most one Content-Length, no Transfer-Encoding) and returns null for anything
 * else, which the front hands to Bun's own HTTP server whole. So it never has to get an edge case
 * right that Bun's parser already does, and a message is never read two ways (no smuggling).
 */

import { connectionListed } from "../proxy/headers.ts";

export const CRLF2 = Buffer.from("\r\n\r\n");

/** Header names lower-cased, values as sent (trimmed). */
export class HeaderList {
  constructor(
    readonly names: string[],
    readonly values: string[],
  ) {}

  get(name: string): string | null {
    const i = this.names.indexOf(name);
    return i === -1 ? null : this.values[i]!;
  }
}

export interface RequestHead {
  method: string;
  path: string;
  /** "?..." or "". */
  search: string;
  headers: HeaderList;
  contentLength: number;
  /** The client asked to close after this exchange. */
  close: boolean;
}

export interface ResponseHead {
  status: number;
  reason: string;
  headers: HeaderList;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Targets whose pathname WHATWG URL parsing would leave as is: no dot segments, no percent-escapes, no backslashes. */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
const DIGITS = /^[0-9]{1,15}$/;

/** Parses buf[0, end) (end at the blank line's CRLF CRLF); null when the head is not of the plain shape. */
export function parseRequestHead(buf: Uint8Array, end: number): RequestHead | null {
  const lines = Buffer.from(buf.buffer, buf.byteOffset, end).toString("latin1").split("\r\n");
  const first = lines[0]!.split(" ");
  if (first.length !== 3 || first[2] !== "HTTP/1.1" || !TOKEN.test(first[0]!)) return null;
  const target = first[1]!;
  if (!PLAIN_TARGET.test(target) || target.includes("/.")) return null;
  const headers = parseHeaderLines(lines);
  if (!headers || headers.get("transfer-encoding") != null || headers.get("expect") != null || headers.get("upgrade") != null) return null;
  let contentLength = 0;
  const lengths = headers.names.filter((n) => n === "content-length").length;
  if (lengths > 1) return null;
  if (lengths === 1) {
    const value = headers.get("content-length")!;
    if (!DIGITS.test(value)) return null;
    contentLength = Number(value);
  }
  const q = target.indexOf("?");
  return {
    method: first[0]!,
    path: q === -1 ? target : target.slice(0, q),
    search: q === -1 || q === target.length - 1 ? "" : target.slice(q),
    headers,
    contentLength,
    close: connectionListed(headers).includes("close"),
  };
}

/** Parses an upstream response head; null when it is not HTTP/1.x. */
export function parseResponseHead(buf: Uint8Array, end: number): ResponseHead | null {
  const lines = Buffer.from(buf.buffer, buf.byteOffset, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] ([0-9]{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) return null;
  const headers = parseHeaderLines(lines);
  if (!headers) return null;
  return { status: Number(m[1]), reason: m[2] ?? "", headers };
}

function parseHeaderLines(lines: string[]): HeaderList | null {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return null;
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) return null;
    names.push(name.toLowerCase());
    values.push(value);
  }
  return new HeaderList(names, values);
}

/** A head to write: status line or request line, then each header, then the blank line. */
export function serializeHead(startLine: string, names: readonly string[], values: readonly string[]): string {
  let head = startLine + "\r\n";
  for (let i = 0; i < names.length; i++) head += names[i] + ": " + values[i] + "\r\n";
  return head + "\r\n";
}
