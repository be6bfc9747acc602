import { describe, expect, test } from "vitest";
import { createMeter } from "./meter.ts";
import { bytes, chunksOf, feed, framesOf, goJson, nativeChat, splitAt, type Generation } from "./meter-fixtures.ts";

// Tokens that look like the markers the meter scans for must not fool it.
const gen: Generation = { model: "llama3.2:1b", tokens: ["Hello", ' "done":true', " <b>&", " \"usage\"", "!"], promptTokens: 26, completionTokens: 5 };
const body = bytes(nativeChat(gen));
const native = () => createMeter("native-stream", { stripUsage: false });

describe("native NDJSON meter", () => {
  test("reads prompt_eval_count and eval_count from the final line and passes every chunk through", () => {
    const fed = feed(native(), framesOf(nativeChat(gen), "\n"));
    expect(fed.counts).toEqual({ promptTokens: 26, completionTokens: 5, complete: true, error: null });
    expect(fed.passedThrough).toBe(true);
    expect(fed.out).toBe(nativeChat(gen));
  });

  test("counts are the same wherever the body is split", () => {
    for (let at = 0; at <= body.length; at++) {
      const fed = feed(native(), splitAt(body, at));
      expect(fed.counts, `split at ${at}`).toEqual({ promptTokens: 26, completionTokens: 5, complete: true, error: null });
      expect(fed.passedThrough).toBe(true);
      expect(fed.out).toBe(nativeChat(gen));
    }
    expect(feed(native(), chunksOf(body, 1)).counts).toEqual({ promptTokens: 26, completionTokens: 5, complete: true, error: null });
  });

  test("a chunk holding the whole stream is read in one push", () => {
    expect(feed(native(), [body]).counts.completionTokens).toBe(5);
  });

  test("an aborted stream counts the content lines seen, without prompt tokens", () => {
    const lines = framesOf(nativeChat(gen), "\n");
    const fed = feed(native(), [...lines.slice(0, 3), bytes('{"model":"llama3.2:1b","crea')], false);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 3, complete: false, error: null });
  });

  test("a mid-stream error line is reported, with the tokens seen before it", () => {
    const lines = framesOf(nativeChat(gen), "\n").slice(0, 2);
    const fed = feed(native(), [...lines, bytes(goJson({ error: "model runner has unexpectedly stopped" }) + "\n")]);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 2, complete: false, error: "model runner has unexpectedly stopped" });
  });

  test('"done":true inside tool-call arguments does not end the stream', () => {
    const toolLine = goJson({ model: "m", created_at: "t", message: { role: "assistant", content: "", tool_calls: [{ function: { name: "finish", arguments: { done: true } } }] }, done: false });
    const fed = feed(native(), [bytes(toolLine + "\n")], false);
    expect(fed.counts).toEqual({ promptTokens: 0, completionTokens: 1, complete: false, error: null });
  });

  test("omitted metrics mean 0; a final line without a newline is still read at the end", () => {
    const final = goJson({ model: "m", created_at: "t", response: "", done: true, done_reason: "load" });
    expect(feed(native(), [bytes(final)]).counts).toEqual({ promptTokens: 0, completionTokens: 0, complete: true, error: null });
  });
});
