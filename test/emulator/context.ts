/** What a route handler gets for one request. */
import type { ResolvedOptions } from "./options.ts";
import type { RecordedRequest, Recorder } from "./recorder.ts";
import type { EmulatorState } from "./state.ts";

export interface RequestContext {
  request: Request;
  url: URL;
  /** Route parameter (`:digest`, `:model`, `:key`), when the route has one. */
  param: string;
  /** Parsed JSON body; null when absent or not JSON. */
  body: unknown;
  entry: RecordedRequest;
  recorder: Recorder;
  state: EmulatorState;
  options: ResolvedOptions;
  /** Set by a handler whose response body is a stream: the stream, not the server, marks it finished. */
  streaming: boolean;
}

export type Handler = (ctx: RequestContext) => Response | Promise<Response>;

/** The JSON body as a record; an absent or non-object body reads as empty. */
export function bodyRecord(ctx: RequestContext): Record<string, unknown> {
  const body = ctx.body;
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

export function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === "string" ? value : "";
}
