// Token meters: read the counts from an upstream body while it is forwarded
// (DESIGN.md, request path step 5). This file is the entry point of the
// metering code: request-side preparation, kind selection and the meters.
import { FrameSplitter, type FrameHandler, type Framing } from "./meter-frames.ts";
import type { MeterKind } from "./meter-kind.ts";
import { jsonBodyMeter } from "./meter-json.ts";
import { nativeStreamReader } from "./meter-ndjson.ts";
import { openAiStreamReader } from "./meter-openai-sse.ts";
import { anthropicStreamReader, responsesStreamReader } from "./meter-event-sse.ts";

export { meterKind, type MeterKind } from "./meter-kind.ts";

export interface MeterCounts {
  promptTokens: number;
  completionTokens: number;
  /** The body reached its end marker: native done:true, [DONE], response.completed, message_stop, or a JSON body that parsed. */
  complete: boolean;
  /** Message of an error line, event or body; null when none. */
  error: string | null;
}

/**
 * Reads one response body. Feed every upstream chunk to push() and forward
 * what it returns; call end() when the upstream body ends and forward what it
 * returns. push() returns the very same Uint8Array whenever nothing is
 * removed; null means nothing to forward yet.
 */
export interface Meter {
  /**
   * Meters buf[start, end) (the whole of buf by default). Returns buf itself when that run goes on
   * unchanged (no view of the run is made), else the bytes to forward, or null for none yet.
   */
  push(buf: Uint8Array, start?: number, end?: number): Uint8Array | null;
  /**
   * push() for bytes that go to the client as they are, read in place: buf[start, end) is a run
   * of the body inside a larger buffer (the front's reads, framing and all). Only for a meter
   * that removes nothing (stripUsage false); an editing meter throws.
   */
  read(buf: Uint8Array, start: number, end: number): void;
  end(): Uint8Array | null;
  /** Meters a body already read whole; returns what to forward (the same bytes when nothing is removed). */
  whole(body: Uint8Array): Uint8Array;
  /** Counts seen so far: final after end(), what was seen after an abort. */
  counts(): MeterCounts;
}

export interface MeterOptions {
  /** Remove what Ollama adds for stream_options.include_usage (prepareRequest's stripUsage). */
  stripUsage: boolean;
}

/** Reads the frames of one stream kind and keeps its counts. */
export interface StreamReader {
  onFrame: FrameHandler;
  counts(): MeterCounts;
}

export function createMeter(kind: MeterKind, options: MeterOptions): Meter {
  switch (kind) {
    case "native-stream":
      return streamMeter("line", nativeStreamReader(), false);
    case "openai-chat-stream":
      return streamMeter("event", openAiStreamReader("chat", options.stripUsage), options.stripUsage);
    case "openai-completions-stream":
      return streamMeter("event", openAiStreamReader("completions", options.stripUsage), options.stripUsage);
    case "responses-stream":
      return streamMeter("event", responsesStreamReader(), false);
    case "anthropic-stream":
      return streamMeter("event", anthropicStreamReader(), false);
    case "json":
      return jsonBodyMeter();
    case "none":
      return passThrough();
  }
}

function streamMeter(framing: Framing, reader: StreamReader, editing: boolean): Meter {
  const splitter = new FrameSplitter(framing, reader.onFrame, editing);
  const push = (buf: Uint8Array, start?: number, to?: number) => splitter.push(buf, start, to);
  const end = () => splitter.end();
  return { push, read: (buf, start, to) => splitter.read(buf, start, to), end, whole: (body) => wholeByChunks(push, end, body), counts: reader.counts };
}

function passThrough(): Meter {
  let complete = false;
  return {
    push: (buf) => buf,
    read: () => {},
    end: () => {
      complete = true;
      return null;
    },
    whole: (body) => {
      complete = true;
      return body;
    },
    counts: () => ({ promptTokens: 0, completionTokens: 0, complete, error: null }),
  };
}

/** A whole body through a chunk meter: the same bytes unless the meter removed something. */
export function wholeByChunks(push: Meter["push"], end: Meter["end"], body: Uint8Array): Uint8Array {
  const passed = push(body);
  const tail = end();
  if (passed === body && !tail) return body;
  return Buffer.concat([passed ?? new Uint8Array(0), tail ?? new Uint8Array(0)]);
}
