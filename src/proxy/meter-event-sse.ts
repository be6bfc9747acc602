// Named-event SSE streams: "event: <name>\ndata: <json>\n\n".
// /v1/responses (openai/responses.go): response.completed carries
//   response.usage {input_tokens, output_tokens}; response.failed carries
//   response.error.message and the usage so far.
// /v1/messages (anthropic/anthropic.go StreamConverter): message_start carries
//   usage.input_tokens (an estimate from the request when the model has not
//   reported yet), message_delta carries the real usage.input_tokens and
//   usage.output_tokens, message_stop ends the stream.
// Only these events are parsed; deltas are counted for aborted streams.
import { LF, ascii, parseJson, startsWithAt, trimNewlines } from "./meter-bytes.ts";
import type { MeterCounts, StreamReader } from "./meter.ts";
import { count, errorMessage } from "./meter-ndjson.ts";

interface State {
  counts: MeterCounts;
  /** A usage event arrived: its counts replace the delta count. */
  usageSeen: boolean;
}

type EventAction = (data: unknown, state: State) => void;

interface EventRule {
  /** "event: <name>\n" */
  prefix: Uint8Array;
  action: EventAction;
}

function rule(name: string, action: EventAction): EventRule {
  return { prefix: ascii(`event: ${name}\n`), action };
}

const DATA = ascii("data: ");

const RESPONSES_RULES: EventRule[] = [
  rule("response.completed", (data, state) => {
    readUsage(field(data, "response"), state);
    state.counts.complete = true;
  }),
  rule("response.failed", (data, state) => {
    const response = field(data, "response");
    readUsage(response, state);
    state.counts.error = errorMessage(response);
  }),
];
const RESPONSES_DELTAS = [
  ascii("event: response.output_text.delta\n"),
  ascii("event: response.reasoning_summary_text.delta\n"),
  ascii("event: response.function_call_arguments.delta\n"),
];

const ANTHROPIC_RULES: EventRule[] = [
  rule("message_start", (data, state) => {
    state.counts.promptTokens = count(field(field(field(data, "message"), "usage"), "input_tokens"));
  }),
  rule("message_delta", (data, state) => readUsage(data, state)),
  rule("message_stop", (_data, state) => {
    state.counts.complete = true;
  }),
  rule("error", (data, state) => {
    state.counts.error = errorMessage(data);
  }),
];
const ANTHROPIC_DELTAS = [ascii("event: content_block_delta\n")];

export function responsesStreamReader(): StreamReader {
  return namedEventReader(RESPONSES_RULES, RESPONSES_DELTAS);
}

export function anthropicStreamReader(): StreamReader {
  return namedEventReader(ANTHROPIC_RULES, ANTHROPIC_DELTAS);
}

/**
 * Until a usage event arrives, completion tokens are the number of delta
 * events seen (about one per generated token).
 */
function namedEventReader(rules: EventRule[], deltas: Uint8Array[]): StreamReader {
  const state: State = {
    counts: { promptTokens: 0, completionTokens: 0, complete: false, error: null },
    usageSeen: false,
  };
  let deltaEvents = 0;

  function onFrame(buf: Uint8Array, start: number, frameEnd: number): null {
    if (deltas.some((d) => startsWithAt(buf, start, d))) {
      deltaEvents++;
      if (!state.usageSeen) state.counts.completionTokens = deltaEvents;
      return null;
    }
    const matched = rules.find((r) => startsWithAt(buf, start, r.prefix));
    if (matched) matched.action(eventData(buf, start + matched.prefix.length, trimNewlines(buf, start, frameEnd)), state);
    return null;
  }

  return { onFrame, counts: () => ({ ...state.counts }) };
}

/** The JSON of the event's one data line (Ollama writes each event's JSON on one line). */
function eventData(buf: Uint8Array, start: number, end: number): unknown {
  if (!startsWithAt(buf, start, DATA)) return undefined;
  const nl = buf.indexOf(LF, start);
  return parseJson(buf, start + DATA.length, nl === -1 || nl > end ? end : nl);
}

// Both protocols name their counts input_tokens and output_tokens.
function readUsage(holder: unknown, state: State): void {
  const usage = field(holder, "usage");
  if (typeof usage !== "object" || usage === null) return;
  state.usageSeen = true;
  state.counts.promptTokens = count(field(usage, "input_tokens"));
  state.counts.completionTokens = count(field(usage, "output_tokens"));
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
