import { describe, expect, it } from "vitest";
import { type Completion, requestLineJson } from "./request-log.ts";

function completion(overrides: Partial<Completion>): Completion {
  return {
    principal: null,
    endpoint: "/api/chat",
    model: "llama3.2:1b",
    method: "POST",
    path: "/api/chat",
    requestId: "3f2a9c1d-000001",
    durationMs: 12.3456,
    upstreamMs: 11.111,
    status: 200,
    promptTokens: 12,
    completionTokens: 34,
    end: "complete",
    ...overrides,
  };
}

/** The line as it was built before: an object of the fields, through JSON.stringify. */
function stringified(c: Completion, user: string | null): string {
  return JSON.stringify({
    msg: "request",
    id: c.requestId,
    user,
    method: c.method,
    path: c.path,
    model: c.model,
    status: c.status,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    duration_ms: Math.round(c.durationMs * 100) / 100,
    upstream_ms: Math.round(c.upstreamMs * 100) / 100,
    end: c.end,
  });
}

describe("request line JSON", () => {
  const odd = ['say "hi"', "back\\slash", "tab\tand\nline", "\u0000\u001f\u007f", "модель 😀", "lone \ud800 surrogate", "", " ", "~!#[]{}"];

  it("is exactly what JSON.stringify makes of the fields, for any text and number", () => {
    const cases: [Completion, string | null][] = [
      [completion({}), "alice"],
      [completion({ model: null, end: "refused", status: 401, durationMs: 0, upstreamMs: 0 }), null],
      [completion({ durationMs: NaN, upstreamMs: Infinity, promptTokens: -0, completionTokens: 1e21 }), "bob"],
      [completion({ durationMs: 1e-9, upstreamMs: 123456789.987 }), "carol"],
    ];
    for (const text of odd) {
      cases.push([completion({ model: text, path: `/api/chat?q=${text}`, method: text, requestId: text }), text]);
    }
    for (const [c, user] of cases) {
      const line = requestLineJson(c, user);
      expect(line).toBe(stringified(c, user));
      expect(JSON.parse(line).model).toBe(c.model);
    }
  });
});
