/**
 * HTTP/1.1 message heads as the front reads and writes them. The parser is deliberately narrow:
 * it accepts only the plain shape every API client sends (HTTP/1.1, origin-form target, token
 * header names, at most one Content-Length, no Transfer-Encoding) and returns null for anything
 * else, which the front hands to Bun's own HTTP server whole. So it never has to get an edge case
 * right that Bun's parser already does, and a message is never read two ways (no smuggling).
 */

import { connectionListed } from "../proxy/headers.ts";

export const CRLF2 = Buffer.from("\r\n\r\n");

/** Header names lower-cased, values as sent (without the spaces and tabs around them). */
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

/** Targets whose pathname WHATWG URL parsing would leave as is: no dot segments, no percent-escapes, no backslashes. */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
const DIGITS = /^[0-9]{1,15}$/;

// The parser reads bytes and makes a string only of what it returns: heads arrive on every
// request, and each substring is an allocation the allocator then has to find cache-cold.
const CRLF = Buffer.from("\r\n");
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
/** tchar of RFC 9110 section 5.6.2: what a method and a header name are made of. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"];
const HTTP11 = "HTTP/1.1";

/** Parses buf[0, end) (end at the blank line's CRLF CRLF); null when the head is not of the plain shape. */
export function parseRequestHead(buf: Buffer, end: number): RequestHead | null {
  const lineEnd = lineEndAt(buf, 0, end);
  const sp1 = buf.indexOf(SP);
  const sp2 = sp1 === -1 ? -1 : buf.indexOf(SP, sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 >= lineEnd) return null;
  if (lineEnd - sp2 - 1 !== HTTP11.length || !bytesAre(buf, sp2 + 1, HTTP11)) return null;
  const method = methodOf(buf, sp1);
  if (!method) return null;
  const target = buf.toString("latin1", sp1 + 1, sp2);
  if (!PLAIN_TARGET.test(target) || target.includes("/.")) return null;
  const headers = lineEnd < end ? parseHeaderLines(buf, lineEnd + 2, end) : new HeaderList([], []);
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
    method,
    path: q === -1 ? target : target.slice(0, q),
    search: q === -1 || q === target.length - 1 ? "" : target.slice(q),
    headers,
    contentLength,
    close: connectionListed(headers).includes("close"),
  };
}

/** Parses an upstream response head ("HTTP/1.x NNN reason"); null when it is not HTTP/1.x. */
export function parseResponseHead(buf: Buffer, end: number): ResponseHead | null {
  const lineEnd = lineEndAt(buf, 0, end);
  if (lineEnd < 12 || !bytesAre(buf, 0, "HTTP/1.") || (buf[7] !== 0x30 && buf[7] !== 0x31) || buf[8] !== SP) return null;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const digit = buf[i]! - 0x30;
    if (digit < 0 || digit > 9) return null;
    status = status * 10 + digit;
  }
  if (lineEnd > 12 && buf[12] !== SP) return null;
  for (let i = 13; i < lineEnd; i++) if (buf[i] === 0x0d || buf[i] === 0x0a) return null;
  const reason = lineEnd <= 13 ? "" : lineEnd === 15 && bytesAre(buf, 13, "OK") ? "OK" : buf.toString("latin1", 13, lineEnd);
  const headers = lineEnd < end ? parseHeaderLines(buf, lineEnd + 2, end) : new HeaderList([], []);
  return headers && { status, reason, headers };
}

/** Header lines in buf[at, end); null at a line that is not `token ":" value`. */
function parseHeaderLines(buf: Buffer, at: number, end: number): HeaderList | null {
  const names: string[] = [];
  const values: string[] = [];
  while (at <= end) {
    const eol = lineEndAt(buf, at, end);
    const colon = buf.indexOf(COLON, at);
    if (colon <= at || colon >= eol) return null;
    const name = headerName(buf, at, colon);
    const value = name === null ? null : headerValue(buf, colon + 1, eol);
    if (value === null) return null;
    names.push(name!);
    values.push(value);
    at = eol + 2;
  }
  return new HeaderList(names, values);
}

/** Where the line starting at `at` ends: its CRLF, or end. */
function lineEndAt(buf: Buffer, at: number, end: number): number {
  const eol = buf.indexOf(CRLF, at);
  return eol === -1 || eol > end ? end : eol;
}

function bytesAre(buf: Buffer, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function methodOf(buf: Buffer, to: number): string | null {
  for (const m of METHODS) if (m.length === to && bytesAre(buf, 0, m)) return m;
  for (let i = 0; i < to; i++) if (!TCHAR[buf[i]!]) return null;
  return buf.toString("latin1", 0, to);
}

/**
 * Lower-cased header names seen before, by a hash of their bytes: clients send the same few
 * names on every request, so a known name costs no new string. Bounded, so a client sending
 * endless distinct names cannot grow it.
 */
const NAMES = new Map<number, string>();
const MAX_NAMES = 256;

function headerName(buf: Buffer, from: number, to: number): string | null {
  let hash = to - from;
  for (let i = from; i < to; i++) hash = (Math.imul(hash, 31) + lower(buf[i]!)) | 0;
  const known = NAMES.get(hash);
  if (known !== undefined && sameName(buf, from, to, known)) return known;
  for (let i = from; i < to; i++) if (!TCHAR[buf[i]!]) return null;
  const name = buf.toString("latin1", from, to).toLowerCase();
  if (known === undefined && NAMES.size < MAX_NAMES) NAMES.set(hash, name);
  return name;
}

/** The bytes spell `name` but for the case of letters (so they are a token, as `name` is). */
function sameName(buf: Buffer, from: number, to: number, name: string): boolean {
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lower(buf[from + i]!) !== name.charCodeAt(i)) return false;
  return true;
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** The value without the whitespace around it; null when it holds a control character (left to Bun). */
function headerValue(buf: Buffer, from: number, to: number): string | null {
  while (from < to && (buf[from] === SP || buf[from] === HTAB)) from++;
  while (to > from && (buf[to - 1] === SP || buf[to - 1] === HTAB)) to--;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) return null;
  }
  return buf.toString("latin1", from, to);
}

/**
 * A message to write: its head (status line or request line, then each header, then the blank
 * line) as latin1 bytes, then the body if any, in one buffer. Written straight into the buffer:
 * built as a string, a head of six headers made 13 strings a call, the most of any step of a request.
 */
export function serializeHead(startLine: string, names: readonly string[], values: readonly string[], body?: Uint8Array | null): Buffer {
  let length = startLine.length + 4;
  for (let i = 0; i < names.length; i++) length += names[i]!.length + values[i]!.length + 4;
  const bytes = Buffer.allocUnsafe(length + (body?.byteLength ?? 0));
  let at = bytes.write(startLine, 0, "latin1");
  at = crlf(bytes, at);
  for (let i = 0; i < names.length; i++) {
    at += bytes.write(names[i]!, at, "latin1");
    bytes[at++] = COLON;
    bytes[at++] = SP;
    at += bytes.write(values[i]!, at, "latin1");
    at = crlf(bytes, at);
  }
  at = crlf(bytes, at);
  if (body) bytes.set(body, at);
  return bytes;
}

function crlf(bytes: Buffer, at: number): number {
  bytes[at] = 0x0d;
  bytes[at + 1] = 0x0a;
  return at + 2;
}
