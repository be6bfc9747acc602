import { describe, expect, test } from "vitest";
import { createMeter } from "./meter.ts";
import { anthropicStream, bytes, feed, framesOf, goJson, responsesStream, splitAt, type Generation } from "./meter-fixtures.ts";

const gen: Generation = { model: "gpt-oss:20b", tokens: ["One", " two", ' "usage":{"input_tokens":9}', " four"], promptTokens: 40, completionTokens: 4 };
const done = { promptTokens: 40, completionTokens: 4, complete: true, error: null };

describe("Responses stream meter", () => {
  const body = bytes(responsesStream(gen));
  const meter = () => createMeter("responses-stream", { stripUsage: false });

  test("reads usage from response.completed, not the usage:null of response.created, wherever it is split", () => {
    for (let at = 0; at <= body.length; at++) {
      const fed = feed(meter(), splitAt(body, at));
      expect(fed.counts, `split at ${at}`).toEqual(done);
      expect(fed.passedThrough).toBe(true);
      expect(fed.out).toBe(responsesStream(gen));
    }
  });

  test("an aborted stream counts the text deltas seen", () => {
    const events = framesOf(responsesStream(gen), "\n\n");
    expect(feed(meter(), events.slice(0, 4), false).counts).toEqual({ promptTokens: 0, completionTokens: 2, complete: false, error: null });
  });

  test("response.failed gives its error message and the usage so far", () => {
    const failed = `event: response.failed\ndata: ${goJson({ response: { error: { code: "api_error", message: "web search failed" }, status: "failed", usage: { input_tokens: 12, output_tokens: 3, total_tokens: 15 } }, sequence_number: 9, type: "response.failed" })}\n\n`;
    const events = framesOf(responsesStream(gen), "\n\n").slice(0, 3);
    expect(feed(meter(), [...events, bytes(failed)]).counts).toEqual({ promptTokens: 12, completionTokens: 3, complete: false, error: "web search failed" });
  });
});

describe("Anthropic messages stream meter", () => {
  const body = bytes(anthropicStream(gen, 37));
  const meter = () => createMeter("anthropic-stream", { stripUsage: false });

  test("message_delta's real counts replace message_start's estimate, wherever it is split", () => {
    for (let at = 0; at <= body.length; at++) {
      const fed = feed(meter(), splitAt(body, at));
      expect(fed.counts, `split at ${at}`).toEqual(done);
      expect(fed.passedThrough).toBe(true);
    }
  });

  test("an aborted stream keeps message_start's input estimate and counts the deltas seen", () => {
    const events = framesOf(anthropicStream(gen, 37), "\n\n");
    expect(feed(meter(), events.slice(0, 5), false).counts).toEqual({ promptTokens: 37, completionTokens: 3, complete: false, error: null });
  });

  test("an error event is reported", () => {
    const error = `event: error\ndata: ${goJson({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })}\n\n`;
    const events = framesOf(anthropicStream(gen, 37), "\n\n").slice(0, 3);
    expect(feed(meter(), [...events, bytes(error)]).counts).toEqual({ promptTokens: 37, completionTokens: 1, complete: false, error: "Overloaded" });
  });
});
