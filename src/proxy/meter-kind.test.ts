import { expect, test } from "vitest";
import { meterKind } from "./meter.ts";

test.each([
  ["/api/chat", "application/x-ndjson", true, "native-stream"],
  ["/api/generate", "application/json; charset=utf-8", false, "json"],
  ["/api/generate", "application/json; charset=utf-8", true, "json"], // a stream that failed before its first chunk
  ["/api/embed", "application/json; charset=utf-8", false, "json"],
  ["/api/embeddings", "application/json; charset=utf-8", false, "none"],
  ["/api/pull", "application/x-ndjson", true, "none"],
  ["/api/tags", "application/json; charset=utf-8", false, "none"],
  ["/v1/chat/completions", "text/event-stream", true, "openai-chat-stream"],
  ["/v1/completions", "text/event-stream", true, "openai-completions-stream"],
  ["/v1/chat/completions", "application/json", false, "json"],
  ["/v1/embeddings", "application/json", false, "json"],
  ["/v1/responses", "text/event-stream", true, "responses-stream"],
  ["/v1/messages", "text/event-stream", true, "anthropic-stream"],
  ["/api/chat", null, true, "native-stream"],
  ["/v1/messages", "", false, "json"],
] as const)("%s %s (stream %s) -> %s", (path, contentType, stream, kind) => {
  expect(meterKind(path, contentType, stream)).toBe(kind);
});
