/**
 * The front (src/front): what it serves on its own sockets, what it hands to Bun's server, and
 * how it keeps upstream connections, over raw TCP where fetch would hide the wire.
 */
import type { Socket } from "bun";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startWorld, type World } from "./harness.ts";

const CHAT = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }], stream: false });

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes on one connection and reads `count` responses (Content-Length or chunked bodies). */
async function raw(port: number, send: (socket: Socket<undefined>) => void | Promise<void>, count: number): Promise<{ responses: RawResponse[]; closed: boolean }> {
  let buf = Buffer.alloc(0);
  let closed = false;
  let wake = () => {};
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        buf = Buffer.concat([buf, chunk]);
        wake();
      },
      close() {
        closed = true;
        wake();
      },
    },
  });
  await send(socket);
  const responses: RawResponse[] = [];
  const deadline = Date.now() + 10_000;
  while (responses.length < count && Date.now() < deadline) {
    const parsed = parseOne(buf);
    if (parsed) {
      responses.push(parsed.response);
      buf = buf.subarray(parsed.length);
      continue;
    }
    if (closed) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 100);
    });
  }
  if (count > 0 && responses.length === count) await Bun.sleep(100); // a close would follow at once
  socket.end();
  return { responses, closed };
}

function parseOne(buf: Buffer): { response: RawResponse; length: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const [status, ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
  let at = end + 4;
  let body = "";
  if (headers["transfer-encoding"] === "chunked") {
    for (;;) {
      const nl = buf.indexOf("\r\n", at);
      if (nl === -1) return null;
      const size = parseInt(buf.subarray(at, nl).toString(), 16);
      if (buf.length < nl + 2 + size + 2) return null;
      body += buf.subarray(nl + 2, nl + 2 + size).toString();
      at = nl + 2 + size + 2;
      if (size === 0) break;
    }
  } else {
    const length = Number(headers["content-length"] ?? 0);
    if (buf.length < at + length) return null;
    body = buf.subarray(at, at + length).toString();
    at += length;
  }
  return { response: { status: Number(status!.split(" ")[1]), headers, body }, length: at };
}

function post(path: string, key: string, body: string, extra = ""): string {
  return `POST ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

describe("front", () => {
  let world: World;
  let key: string;
  let port: number;

  beforeAll(async () => {
    world = await startWorld("sqlite");
    key = await world.user("fran");
    port = world.gateway.port;
  });
  afterAll(() => world?.close());

  it("answers pipelined requests in order on one connection", async () => {
    const wire = post("/api/chat", key, CHAT) + `GET /api/tags HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\n\r\n` + post("/api/chat", key, CHAT);
    const { responses } = await raw(port, (s) => void s.write(wire), 3);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(JSON.parse(responses[0]!.body).done).toBe(true);
    expect(JSON.parse(responses[1]!.body).models.length).toBeGreaterThan(0);
    expect(new Set(responses.map((r) => r.headers["x-request-id"])).size).toBe(3);
  });

  it("closes the connection after a request that asked for it", async () => {
    const { responses, closed } = await raw(port, (s) => void s.write(post("/api/chat", key, CHAT, "Connection: close\r\n")), 1);
    expect(responses[0]!.status).toBe(200);
    expect(responses[0]!.headers.connection).toBe("close");
    expect(closed).toBe(true);
  });

  it("streams a chunked response chunk by chunk with its own request id and limit headers", async () => {
    const body = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }] });
    const { responses } = await raw(port, (s) => void s.write(post("/api/chat", key, body, 'X-Emulator: {"chunks":5}\r\n')), 1);
    const lines = responses[0]!.body.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines.at(-1).done).toBe(true);
    expect(responses[0]!.headers["transfer-encoding"]).toBe("chunked");
    expect(responses[0]!.headers["x-request-id"]).toBeTruthy();
    expect(responses[0]!.headers.authorization).toBeUndefined();
  });

  it("hands HTTP/1.0, a chunked upload and Expect: 100-continue to Bun's server, which serves them", async () => {
    const http10 = await raw(port, (s) => void s.write(`GET /api/tags HTTP/1.0\r\nAuthorization: Bearer ${key}\r\n\r\n`), 1);
    expect(http10.responses[0]!.status).toBe(200);

    const chunked = `POST /api/chat HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\nTransfer-Encoding: chunked\r\n\r\n${CHAT.length.toString(16)}\r\n${CHAT}\r\n0\r\n\r\n`;
    const upload = await raw(port, (s) => void s.write(chunked), 1);
    expect(upload.responses[0]!.status).toBe(200);
    expect(JSON.parse(upload.responses[0]!.body).done).toBe(true);

    const expect100 = await raw(
      port,
      async (s) => {
        s.write(`POST /api/chat HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\nExpect: 100-continue\r\nContent-Length: ${CHAT.length}\r\n\r\n`);
        await Bun.sleep(200);
        s.write(CHAT);
      },
      2,
    );
    expect(expect100.responses.map((r) => r.status)).toEqual([100, 200]);
  });

  it("leaves a malformed request to Bun's server, which refuses it", async () => {
    const { responses } = await raw(port, (s) => void s.write("NOT HTTP AT ALL\r\n\r\n"), 1);
    expect(responses[0]?.status).toBe(400);
  });

  it("refuses without a key on its own path, in Ollama's shape", async () => {
    const { responses } = await raw(port, (s) => void s.write(post("/api/chat", "plm_nope", CHAT)), 1);
    expect(responses[0]!.status).toBe(401);
    expect(JSON.parse(responses[0]!.body)).toEqual({ error: "malformed API key: expected plm_<id>_<secret>" });
  });

  it("delivers a long stream whole to a client that reads slowly", async () => {
    const body = JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }] });
    const res = await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: { ...bearer(key), "x-emulator": JSON.stringify({ chunks: 3000 }) }, body });
    const reader = res.body!.getReader();
    let text = "";
    for (let i = 0; ; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (i < 20) await Bun.sleep(20); // the socket fills while this client dawdles
    }
    const lines = text.trim().split("\n");
    expect(lines).toHaveLength(3001);
    expect(JSON.parse(lines.at(-1)!).done).toBe(true);
  });
});

describe("front: upstream connections", () => {
  it("reuses one upstream connection, and retries on a new one when the upstream closed it as the request arrived", async () => {
    // An upstream that answers the first request on each connection and, like a server closing
    // an idle connection, drops the connection when a second request arrives on it.
    let connections = 0;
    let dropped = 0;
    const reply = JSON.stringify({ model: "m", message: { role: "assistant", content: "ok" }, done: true, prompt_eval_count: 1, eval_count: 1 });
    const upstream = Bun.listen<{ served: number }>({
      hostname: "127.0.0.1",
      port: 0,
      data: { served: 0 },
      socket: {
        open(s) {
          connections++;
          s.data = { served: 0 };
        },
        data(s) {
          if (s.data.served++ > 0) {
            dropped++;
            return void s.terminate();
          }
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${reply.length}\r\n\r\n${reply}`);
        },
      },
    });
    const world = await startWorld("sqlite", { config: { ollama: { url: `http://127.0.0.1:${upstream.port}` } } });
    try {
      const key = await world.user("ria");
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${world.gateway.url}/api/chat`, { method: "POST", headers: bearer(key), body: CHAT });
        expect(res.status).toBe(200);
        expect((await res.json()).message.content).toBe("ok");
      }
      // Requests 2 and 3 each went first to the kept-alive connection, met its close, and were retried once.
      expect(dropped).toBe(2);
      expect(connections).toBe(3);
    } finally {
      await world.close();
      upstream.stop(true);
    }
  });
});

describe("front: an edited stream", () => {
  it("cuts the usage event the client did not ask for and passes untouched upstream chunks as the upstream framed them", async () => {
    const event = (data: string) => `data: ${data}\n\n`;
    const chunk = (text: string, extension = "") => `${Buffer.byteLength(text).toString(16)}${extension}\r\n${text}\r\n`;
    const delta = (content: string, finish: string | null = null) =>
      event(JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", system_fingerprint: "fp_ollama", choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: finish }] }));
    const usage = event(JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", system_fingerprint: "fp_ollama", choices: [], usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } }));
    const split = delta(" there");
    // Written one by one, so each arrives in a read of its own: chunks with an extension the
    // front must pass as they are, an event split across two chunks, the usage event, the end.
    const writes = [
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
      chunk(delta("Hi"), ";n=1") + chunk(delta(","), ";n=1b"),
      chunk(split.slice(0, 20), ";n=2"),
      chunk(split.slice(20), ";n=3"),
      chunk(delta("!", "stop"), ";n=4"),
      chunk(usage, ";n=5") + chunk(event("[DONE]"), ";n=6") + "0\r\n\r\n",
    ];
    let asked = "";
    const upstream = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        async data(s, bytes) {
          asked += bytes.toString();
          for (const part of writes) {
            s.write(part);
            await Bun.sleep(30);
          }
        },
      },
    });
    const world = await startWorld("sqlite", { config: { ollama: { url: `http://127.0.0.1:${upstream.port}` } } });
    try {
      const key = await world.user("sol");
      const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], stream: true });
      let wire = "";
      const received = await new Promise<string>((resolve) => {
        void Bun.connect({
          hostname: "127.0.0.1",
          port: world.gateway.port,
          socket: {
            open: (s) => void s.write(post("/v1/chat/completions", key, body, "Connection: close\r\n")),
            data: (_s, chunk) => void (wire += chunk.toString("latin1")),
            close: () => resolve(wire),
          },
        });
      });
      // The gateway asked for usage on the client's behalf...
      expect(asked).toContain('"include_usage":true');
      const chunks = received.slice(received.indexOf("\r\n\r\n") + 4);
      // ...the untouched whole chunks went out as framed upstream, extension and all...
      expect(chunks).toContain(chunk(delta("Hi"), ";n=1") + chunk(delta(","), ";n=1b"));
      expect(chunks).toContain(chunk(delta("!", "stop"), ";n=4"));
      // ...the split event went out whole in a chunk of the gateway's own, and the usage event not at all.
      expect(chunks).toContain(chunk(split));
      expect(chunks).not.toContain('"usage"');
      const decoded = parseOne(Buffer.from(received, "latin1"))!.response.body;
      expect(decoded).toBe(delta("Hi") + delta(",") + split + delta("!", "stop") + event("[DONE]"));
    } finally {
      await world.close();
      upstream.stop(true);
    }
  });
});
