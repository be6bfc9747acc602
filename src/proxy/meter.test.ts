import { describe, expect, test } from "vitest";
import { createMeter, type Meter, type MeterKind } from "./meter.ts";
import { anthropicStream, bytes, feed, goJson, nativeChat, openAiChat, openAiCompletions, responsesStream, type Generation } from "./meter-fixtures.ts";

const gen: Generation = { model: "llama3.2:1b", tokens: ["Hi", ' "done":true', " \n\n", " there"], promptTokens: 12, completionTokens: 4 };
const jsonBody = goJson({ model: gen.model, message: { role: "assistant", content: "Hi there" }, done: true, prompt_eval_count: 12, eval_count: 4 });

const BODIES: [MeterKind, string][] = [
  ["native-stream", nativeChat(gen)],
  ["openai-chat-stream", openAiChat(gen, true)],
  ["openai-completions-stream", openAiCompletions(gen, true)],
  ["responses-stream", responsesStream(gen)],
  ["anthropic-stream", anthropicStream(gen, 10)],
  ["json", jsonBody],
];

/**
 * The body in two runs inside one buffer, as the front reads a chunked response: chunk framing
 * (with its own line breaks) before, between and after the runs.
 */
function framed(body: Uint8Array, at: number): { buf: Uint8Array; runs: [number, number][] } {
  const parts = [bytes(`${at.toString(16)}\r\n`), body.subarray(0, at), bytes(`\r\n${(body.length - at).toString(16)}\r\n`), body.subarray(at), bytes("\r\n0\r\n\r\n")];
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const starts: number[] = [];
  let offset = 0;
  for (const p of parts) {
    starts.push(offset);
    buf.set(p, offset);
    offset += p.length;
  }
  return { buf, runs: [[starts[1]!, starts[1]! + at], [starts[3]!, starts[3]! + body.length - at]] };
}

function readAll(meter: Meter, buf: Uint8Array, runs: [number, number][]) {
  for (const [start, end] of runs) meter.read(buf, start, end);
  meter.end();
  return meter.counts();
}

describe("Meter.read: runs of a body read in place", () => {
  for (const [kind, text] of BODIES) {
    test(`${kind}: the counts push() gives, wherever the body is split and whatever framing surrounds it`, () => {
      const body = bytes(text);
      const expected = feed(createMeter(kind, { stripUsage: false }), [body]).counts;
      expect(expected.complete).toBe(true);
      for (let at = 0; at <= body.length; at++) {
        const { buf, runs } = framed(body, at);
        expect(readAll(createMeter(kind, { stripUsage: false }), buf, runs), `split at ${at}`).toEqual(expected);
      }
    });
  }

  test("an editing meter refuses read(): what it removes must go through push()", () => {
    const meter = createMeter("openai-chat-stream", { stripUsage: true });
    expect(() => meter.read(bytes("data: {}\n\n"), 0, 10)).toThrow(/editing/);
  });
});

describe("Meter.push on runs of a larger buffer", () => {
  const EDITED: [MeterKind, string][] = [
    ["openai-chat-stream", openAiChat(gen, true)],
    ["openai-completions-stream", openAiCompletions(gen, true)],
  ];
  for (const [kind, text] of EDITED) {
    test(`${kind}, stripping usage: the bytes and counts of separate chunks, wherever the body is split`, () => {
      const body = bytes(text);
      const expected = feed(createMeter(kind, { stripUsage: true }), [body]);
      expect(expected.out.length).toBeLessThan(body.length);
      for (let at = 0; at <= body.length; at++) {
        const { buf, runs } = framed(body, at);
        const meter = createMeter(kind, { stripUsage: true });
        const out: Uint8Array[] = [];
        for (const [start, end] of runs) {
          const passed = meter.push(buf, start, end);
          // buf itself: the run goes on unchanged.
          if (passed === buf) out.push(buf.subarray(start, end));
          else if (passed) out.push(passed);
        }
        const tail = meter.end();
        if (tail) out.push(tail);
        expect(Buffer.concat(out).toString(), `split at ${at}`).toBe(Buffer.from(expected.out).toString());
        expect(meter.counts(), `split at ${at}`).toEqual(expected.counts);
      }
    });
  }
});
