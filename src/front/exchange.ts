/**
 * One gateway exchange on the front's own sockets: admit (shared with the Bun-server path), then
 * write the request to a pooled upstream connection and relay the response's bytes to the client
 * as they arrive, the meter reading the payload on the way. Nothing here builds a Request, a
 * Response or a stream per exchange; that is what makes this path cheap (README, Benchmark).
 *
 * The response goes out in one of four shapes:
 *   pass     the upstream's bytes unchanged, framing included (the common case);
 *   rechunk  the meter's output in chunks of our own (the meter edits the stream, or the upstream
 *            ends its body by closing, which a kept-alive client connection cannot);
 *   whole    read to the end, then sent with a Content-Length (allowlist-filtered listings, and an
 *            edited body the upstream had sized);
 *   none     no body (HEAD, 204, 304).
 */
import { createMeter, meterKind, type Meter } from "../proxy/meter.ts";
import { connectionListed, HOP_BY_HOP, NOT_UPSTREAM } from "../proxy/headers.ts";
import { errorResponse, GatewayError } from "../server/errors.ts";
import { admit, type Admitted, type Counts, type Exchange, type ExchangeDeps, filteredListing, finish, LISTINGS, newExchange, refuse, statusOf, ZERO } from "../server/exchange.ts";
import type { Logger } from "../server/logger.ts";
import { prepareRequestBytes } from "../server/prepared-request.ts";
import type { RelayEnd } from "../proxy/relay.ts";
import { BodyReader, type Framing } from "./body-framing.ts";
import { CRLF2, type HeaderList, parseResponseHead, type RequestHead, type ResponseHead, serializeHead } from "./http1.ts";
import { Outbox } from "./outbox.ts";
import type { UpstreamConnection, UpstreamHandler, UpstreamPool } from "./upstream-pool.ts";

export interface FrontExchangeDeps extends ExchangeDeps {
  upstreamUrl: string;
  upstreamHost: string;
  pool: UpstreamPool;
  logger: Logger;
}

/** The client connection as an exchange sees it. */
export interface ClientSide {
  readonly address: string;
  /** Writes to the client; false when the socket is full (the exchange pauses the upstream until clientDrained). */
  write(bytes: Uint8Array | string): boolean;
  /** The exchange is over and the response complete; close: end the connection after it. */
  finished(close: boolean): void;
  /** The response cannot be completed: close the connection so the client sees a cut body. */
  cut(): void;
}

const NOT_UPSTREAM_SET = new Set(NOT_UPSTREAM);
/** Framing is the front's to write; the rest of the hop-by-hop set never crosses. */
const NOT_DOWNSTREAM_SET = new Set([...HOP_BY_HOP, "content-length"]);
const MAX_RESPONSE_HEAD = 64 * 1024;

type Shape = "pass" | "rechunk" | "whole" | "none";

export class FrontExchange implements UpstreamHandler {
  private readonly x: Exchange;
  private admitted: Admitted | null = null;
  private upstream: UpstreamConnection | null = null;
  private toUpstream: Outbox | null = null;
  private sentAt = 0;
  private headBytes: Buffer | null = null;
  private response: ResponseHead | null = null;
  private reader: BodyReader | null = null;
  private meter: Meter | null = null;
  private shape: Shape = "pass";
  private filtered: readonly string[] | null = null;
  private held: Uint8Array[] = [];
  private reusable = true;
  private ended = false;
  private clientGone = false;
  /** The current read's buffer, for onPayload. */
  private current: Buffer = Buffer.alloc(0);
  /** Rechunk: the run of whole upstream chunks in the current read that the meter left untouched, not yet sent. */
  private untouchedFrom = -1;
  private untouchedTo = -1;
  /** What goes to the client at the end of this turn, joined into one write (strings are latin1). */
  private out: (Uint8Array | string)[] = [];

  constructor(
    private readonly deps: FrontExchangeDeps,
    private readonly client: ClientSide,
    private readonly request: RequestHead,
    private readonly body: Uint8Array,
    requestId: string,
  ) {
    this.x = newExchange(requestId, request.method, request.path, request.search);
  }

  async run(): Promise<void> {
    const { x, request } = this;
    try {
      this.admitted = await admit(this.deps, x, request.headers, () => this.client.address, (principal) =>
        prepareRequestBytes(x.method, x.path, x.route, principal, this.body),
      );
    } catch (err) {
      return this.answer(refuse(this.deps, err, x));
    }
    this.deps.metrics.proxyStarted();
    this.sentAt = performance.now();
    if (this.clientGone) return this.done(499, ZERO, "client_abort");
    this.connect();
  }

  /** The client connection closed before the exchange finished. */
  clientClosed(): void {
    this.clientGone = true;
    if (this.ended || !this.admitted) return;
    if (this.upstream) {
      // Closing the upstream connection is how Ollama learns to stop generating.
      this.dropUpstream();
      this.done(499, this.meter?.counts() ?? ZERO, "client_abort");
    }
  }

  clientDrained(): void {
    this.upstream?.socket.resume();
  }

  private connect(): void {
    let acquired: Promise<UpstreamConnection> | UpstreamConnection;
    try {
      acquired = this.deps.pool.acquire();
    } catch {
      return this.unreachable();
    }
    if (acquired instanceof Promise) acquired.then((conn) => this.send(conn), () => this.unreachable());
    else this.send(acquired);
  }

  private send(conn: UpstreamConnection): void {
    if (this.clientGone) {
      this.deps.pool.release(conn);
      return this.done(499, ZERO, "client_abort");
    }
    this.upstream = conn;
    conn.handler = this;
    this.toUpstream = new Outbox(conn.socket);
    this.toUpstream.write(this.requestBytes());
  }

  private requestBytes(): Uint8Array {
    const { request } = this;
    const body = this.admitted!.prepared.body as Uint8Array | null;
    const names = ["host"];
    const values = [this.deps.upstreamHost];
    appendHeaders(request.headers, NOT_UPSTREAM_SET, names, values);
    if (body) {
      names.push("content-length");
      values.push(String(body.byteLength));
    }
    return serializeHead(`${request.method} ${request.path}${request.search} HTTP/1.1`, names, values, body);
  }

  // UpstreamHandler

  data(chunk: Buffer): void {
    if (this.ended) return;
    let from = 0;
    let buf = chunk;
    while (!this.response) {
      buf = this.headBytes ? Buffer.concat([this.headBytes, buf.subarray(from)]) : buf.subarray(from);
      from = 0;
      const end = buf.indexOf(CRLF2);
      if (end === -1) {
        if (buf.byteLength > MAX_RESPONSE_HEAD) return this.upstreamFailed("upstream sent a response head over 64 KB");
        this.headBytes = Buffer.from(buf);
        return;
      }
      this.headBytes = null;
      const head = parseResponseHead(buf, end);
      if (!head) return this.upstreamFailed("upstream sent a malformed response");
      from = end + 4;
      if (head.status >= 100 && head.status < 200) continue; // 100 Continue, 103 Early Hints: the final answer follows
      this.respond(head);
    }
    this.relayBody(buf, from, buf.byteLength);
    this.flushOut();
  }

  drain(): void {
    this.toUpstream?.drain();
  }

  closed(): void {
    if (this.ended) return;
    if (!this.response) return this.upstreamFailed(`upstream Ollama unreachable at ${this.deps.upstreamUrl}`);
    this.upstream = null;
    if (this.reader!.framing.kind === "close") {
      this.reusable = false;
      return this.bodyEnded();
    }
    this.deps.metrics.upstreamErrors.inc({ kind: "reset" });
    const counts = this.meter!.counts();
    this.done(502, counts, "upstream_error");
    if (this.shape === "whole") void this.answer(errorResponse(new GatewayError("upstream_unreachable", "upstream closed the connection mid-response"), this.x.path, this.x.requestId));
    else this.client.cut();
  }

  // The response

  private respond(head: ResponseHead): void {
    const { x, deps } = this;
    const { principal, prepared, ticket } = this.admitted!;
    this.response = head;
    deps.metrics.ttfb.observe([x.route.endpoint], (performance.now() - this.sentAt) / 1000);
    if (head.status >= 500) deps.metrics.upstreamErrors.inc({ kind: `status_${head.status}` });
    const framing = framingOf(x.method, head);
    this.reader = new BodyReader(framing);
    if (head.headers.get("connection")?.toLowerCase().includes("close")) this.reusable = false;
    if (framing.kind === "none") {
      this.shape = "none";
      this.out.push(this.downstreamHead(head, ticket.headers, head.headers.get("content-length")));
      return;
    }
    this.meter = createMeter(meterKind(x.path, head.headers.get("content-type"), prepared.stream), { stripUsage: prepared.stripUsage });
    this.filtered = principal.models && LISTINGS.has(x.route.endpoint) ? principal.models : null;
    const editing = prepared.stripUsage;
    this.shape = this.filtered || (editing && framing.kind === "length") ? "whole" : editing || framing.kind === "close" ? "rechunk" : "pass";
    if (this.shape === "whole") return;
    const length = framing.kind === "length" && this.shape === "pass" ? String(framing.length) : null;
    this.out.push(this.downstreamHead(head, ticket.headers, length));
  }

  private downstreamHead(head: ResponseHead, own: Record<string, string>, contentLength: string | null): Buffer {
    const names: string[] = [];
    const values: string[] = [];
    appendHeaders(head.headers, NOT_DOWNSTREAM_SET, names, values, own);
    names.push("x-request-id");
    values.push(this.x.requestId);
    for (const name in own) {
      names.push(name);
      values.push(own[name]!);
    }
    if (contentLength != null) {
      names.push("content-length");
      values.push(contentLength);
    } else if (this.shape !== "none") {
      names.push("transfer-encoding");
      values.push("chunked");
    }
    if (this.request.close) {
      names.push("connection");
      values.push("close");
    }
    return serializeHead(`HTTP/1.1 ${head.status} ${head.reason}`, names, values);
  }

  private relayBody(buf: Buffer, from: number, to: number): void {
    const reader = this.reader!;
    if (this.shape === "none") {
      if (to > from) this.reusable = false; // a body where none may be: the connection's framing is lost
      return this.bodyEnded();
    }
    this.current = buf;
    const end = reader.read(buf, from, to, this.onPayload);
    if (end === -1) {
      this.reusable = false;
      this.deps.metrics.upstreamErrors.inc({ kind: "reset" });
      this.dropUpstream();
      this.done(502, this.meter!.counts(), "upstream_error");
      this.flushOut();
      return this.client.cut();
    }
    if (this.shape === "pass" && end > from) this.out.push(buf.subarray(from, end));
    else if (this.shape === "rechunk") this.pushUntouched();
    if (reader.done) {
      if (end < to) this.reusable = false;
      this.bodyEnded();
    }
  }

  /**
   * Each run of payload goes to the meter in place, without a copy or a view of it. When the
   * meter edits the stream, a whole upstream chunk it leaves untouched goes out as the upstream
   * framed it, and successive ones as one run of bytes: only what the meter changed is framed anew.
   */
  private readonly onPayload = (start: number, end: number, chunkAt: number): void => {
    const current = this.current;
    if (this.shape === "pass") return this.meter!.read(current, start, end);
    if (this.shape === "whole") {
      this.held.push(current.slice(start, end)); // read whole at the end
      return;
    }
    const passed = this.meter!.push(current, start, end);
    if (passed === current && chunkAt >= 0) {
      if (this.untouchedFrom === -1) this.untouchedFrom = chunkAt;
      this.untouchedTo = end;
      return;
    }
    this.pushUntouched();
    if (passed === current) this.pushChunk(current.subarray(start, end));
    else if (passed && passed.byteLength > 0) this.pushChunk(passed);
  };

  /** Sends the untouched chunks held back; the last one's line break is still to be read, so it is written here. */
  private pushUntouched(): void {
    if (this.untouchedFrom === -1) return;
    this.out.push(this.current.subarray(this.untouchedFrom, this.untouchedTo), "\r\n");
    this.untouchedFrom = -1;
  }

  private pushChunk(payload: Uint8Array): void {
    this.out.push(payload.byteLength.toString(16) + "\r\n", payload, "\r\n");
  }

  private bodyEnded(): void {
    const { admitted } = this;
    const head = this.response!;
    if (this.shape === "whole") {
      const bytes = Buffer.concat(this.held);
      this.held = [];
      const body = this.filtered && head.status >= 200 && head.status < 300 ? filteredListing(this.x.route.endpoint, bytes, this.filtered) : this.meter!.whole(bytes);
      this.out.push(this.downstreamHead(head, admitted!.ticket.headers, String(body.byteLength)), body);
    } else if (this.shape !== "none") {
      const tail = this.meter!.end();
      if (this.shape === "rechunk") {
        if (tail && tail.byteLength > 0) this.pushChunk(tail);
        this.out.push("0\r\n\r\n");
      }
    }
    const counts = this.meter?.counts() ?? { ...ZERO, error: null };
    const upstream = this.upstream;
    this.upstream = null;
    if (upstream) {
      if (this.reusable) this.deps.pool.release(upstream);
      else {
        upstream.handler = null;
        upstream.socket.end();
      }
    }
    this.done(statusOf(head.status, counts.error), counts, "complete");
    this.flushOut();
    this.client.finished(this.request.close);
  }

  private flushOut(): void {
    const { out } = this;
    if (out.length === 0) return;
    this.out = [];
    let bytes: Uint8Array;
    if (out.length === 1 && typeof out[0] !== "string") bytes = out[0]!;
    else {
      let length = 0;
      for (const part of out) length += typeof part === "string" ? part.length : part.byteLength;
      const joined = Buffer.allocUnsafe(length);
      let at = 0;
      for (const part of out) {
        if (typeof part === "string") at += joined.write(part, at, "latin1");
        else {
          joined.set(part, at);
          at += part.byteLength;
        }
      }
      bytes = joined;
    }
    if (!this.client.write(bytes)) this.upstream?.socket.pause();
  }

  // Failures

  private unreachable(): void {
    this.upstreamFailed(`upstream Ollama unreachable at ${this.deps.upstreamUrl}`);
  }

  /** The upstream failed before the response head: a reused connection the upstream had closed is retried once on another. */
  private upstreamFailed(message: string): void {
    const conn = this.upstream;
    if (conn && conn.served > 0 && !this.response && !this.headBytes && !conn.open) {
      this.upstream = null;
      return this.connect();
    }
    this.dropUpstream();
    if (this.clientGone) return this.done(499, ZERO, "client_abort");
    this.deps.metrics.upstreamErrors.inc({ kind: "unreachable" });
    this.deps.logger.error({ requestId: this.x.requestId, err: message }, "upstream unreachable");
    this.done(502, ZERO, "upstream_error");
    void this.answer(errorResponse(new GatewayError("upstream_unreachable", message), this.x.path, this.x.requestId));
  }

  private dropUpstream(): void {
    const conn = this.upstream;
    this.upstream = null;
    if (!conn) return;
    conn.handler = null;
    conn.socket.terminate();
  }

  /** Records the exchange, once. */
  private done(status: number, counts: Counts, end: RelayEnd): void {
    if (this.ended) return;
    this.ended = true;
    finish(this.deps, this.x, this.admitted!, this.sentAt, status, counts, end);
  }

  /** Sends a response the gateway made itself (a refusal or an upstream failure). */
  private async answer(response: Response): Promise<void> {
    this.ended = true;
    const body = new Uint8Array(await response.arrayBuffer());
    const names: string[] = [];
    const values: string[] = [];
    response.headers.forEach((value, name) => {
      names.push(name);
      values.push(value);
    });
    names.push("content-length");
    values.push(String(body.byteLength));
    if (this.request.close) {
      names.push("connection");
      values.push("close");
    }
    this.client.write(serializeHead(`HTTP/1.1 ${response.status} ${response.statusText || reasonOf(response.status)}`, names, values, body));
    this.client.finished(this.request.close);
  }
}

/** Appends the headers not in skip, not listed in Connection, and not among the gateway's own (which replace them). */
function appendHeaders(headers: HeaderList, skip: ReadonlySet<string>, names: string[], values: string[], own?: Record<string, string>): void {
  const listed = headers.get("connection") ? connectionListed(headers) : null;
  for (let i = 0; i < headers.names.length; i++) {
    const name = headers.names[i]!;
    if (skip.has(name) || listed?.includes(name) || (own && (name in own || name === "x-request-id"))) continue;
    names.push(name);
    values.push(headers.values[i]!);
  }
}

/** How the upstream's response body ends (RFC 9112 section 6.3). */
function framingOf(method: string, head: ResponseHead): Framing {
  if (method === "HEAD" || head.status === 204 || head.status === 304) return { kind: "none" };
  const coding = head.headers.get("transfer-encoding");
  if (coding != null) return coding.toLowerCase().trim().endsWith("chunked") ? { kind: "chunked" } : { kind: "close" };
  const length = head.headers.get("content-length");
  if (length != null && /^[0-9]{1,15}$/.test(length)) return { kind: "length", length: Number(length) };
  return { kind: "close" };
}

const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

function reasonOf(status: number): string {
  return REASONS[status] ?? "";
}
