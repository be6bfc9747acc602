import { describe, expect, test } from "vitest";
import { createMeter, type MeterKind } from "./meter.ts";
import { bytes, chunksOf, feed, framesOf, goJson, openAiChat, openAiCompletions, splitAt, type Generation } from "./meter-fixtures.ts";

// Tokens that look like what the meter scans for must not fool it.
const gen: Generation = { model: "qwen2.5:0.5b", tokens: ["Hi", ' "usage":{', " <x>&", ' "choices":[]', "."], promptTokens: 31, completionTokens: 5 };
const done = { promptTokens: 31, completionTokens: 5, complete: true, error: null };

const cases: { name: string; kind: MeterKind; body: (includeUsage: boolean) => string }[] = [
  { name: "chat", kind: "openai-chat-stream", body: (u) => openAiChat(gen, u) },
  { name: "completions", kind: "openai-completions-stream", body: (u) => openAiCompletions(gen, u) },
];

describe.each(cases)("OpenAI $name stream meter", ({ kind, body }) => {
  const withUsage = bytes(body(true));

  test("strip: the client gets byte for byte the stream without include_usage, wherever it is split", () => {
    for (let at = 0; at <= withUsage.length; at++) {
      const fed = feed(createMeter(kind, { stripUsage: true }), splitAt(withUsage, at));
      expect(fed.out, `split at ${at}`).toBe(body(false));
      expect(fed.counts, `split at ${at}`).toEqual(done);
    }
    const fed = feed(createMeter(kind, { stripUsage: true }), chunksOf(withUsage, 1));
    expect(fed.out).toBe(body(false));
    expect(fed.counts).toEqual(done);
  });

  test("without strip (the client asked for usage) every chunk passes through as the same object", () => {
    for (let at = 0; at <= withUsage.length; at++) {
      const fed = feed(createMeter(kind, { stripUsage: false }), splitAt(withUsage, at));
      expect(fed.passedThrough).toBe(true);
      expect(fed.out).toBe(body(true));
      expect(fed.counts, `split at ${at}`).toEqual(done);
    }
  });

  test("an aborted stream without usage counts the content chunks seen", () => {
    const events = framesOf(body(true), "\n\n");
    const fed = feed(createMeter(kind, { stripUsage: true }), [...events.slice(0, 3), bytes('data: {"id":"x","obj')], false);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 3, complete: false, error: null });
    expect(fed.out).toBe(framesOf(body(false), "\n\n").slice(0, 3).map((e) => new TextDecoder().decode(e)).join(""));
  });

  test("a stream that ends without [DONE] is not complete", () => {
    const events = framesOf(body(true), "\n\n");
    expect(feed(createMeter(kind, { stripUsage: true }), events.slice(0, -1)).counts).toEqual({ ...done, complete: false });
  });

  test("an error event is reported", () => {
    const error = bytes(`data: ${goJson({ error: { message: "model runner has unexpectedly stopped", type: "api_error", param: null, code: null } })}\n\n`);
    const events = framesOf(body(true), "\n\n").slice(0, 2);
    const fed = feed(createMeter(kind, { stripUsage: true }), [...events, error]);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 2, complete: false, error: "model runner has unexpectedly stopped" });
  });
});

describe("OpenAI stream strip edge cases", () => {
  test("a chat stream passes each chunk through untouched up to the usage event", () => {
    const meter = createMeter("openai-chat-stream", { stripUsage: true });
    const events = framesOf(openAiChat(gen, true), "\n\n");
    for (const event of events.slice(0, -2)) expect(meter.push(event)).toBe(event);
    expect(meter.push(events.at(-2)!)).toBeNull();
    expect(meter.push(events.at(-1)!)).toBe(events.at(-1));
  });

  test("a usage event with zero counts is still removed whole", () => {
    const zero: Generation = { ...gen, promptTokens: 0, completionTokens: 0 };
    for (const [kind, build] of [["openai-chat-stream", openAiChat], ["openai-completions-stream", openAiCompletions]] as const) {
      const fed = feed(createMeter(kind, { stripUsage: true }), framesOf(build(zero, true), "\n\n"));
      expect(fed.out).toBe(build(zero, false));
      expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 0, complete: true, error: null });
    }
  });

  test("an upstream that ignores include_usage: nothing removed, content chunks counted", () => {
    const fed = feed(createMeter("openai-completions-stream", { stripUsage: true }), framesOf(openAiCompletions(gen, false), "\n\n"));
    expect(fed.passedThrough).toBe(true);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 6, complete: true, error: null });
  });
});
