import { describe, expect, it } from "vitest";
import { prepareRequest } from "../proxy/usage-options.ts";
import type { Principal } from "../store/store.ts";
import { routeOf } from "./policy.ts";
import { prepareRequestBytes, withIncludeUsage } from "./prepared-request.ts";

const principal = { user: { id: "u", name: "alice", role: "user", disabled: false }, key: { keyId: "k" }, limits: null, models: null } as unknown as Principal;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function prepared(path: string, text: string) {
  return prepareRequestBytes("POST", path, routeOf("POST", path), principal, encoder.encode(text));
}

describe("the body sent upstream", () => {
  it("is the client's own bytes when nothing changes", () => {
    const bytes = encoder.encode('{"model":"m",  "messages":[], "stream":true, "stream_options":{"include_usage":true}}');
    expect(prepareRequestBytes("POST", "/v1/chat/completions", routeOf("POST", "/v1/chat/completions"), principal, bytes).body).toBe(bytes);
  });

  it("asks for stream usage with the client's bytes otherwise kept, and parses to what prepareRequest gives", () => {
    const bodies = [
      '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}',
      ' \r\n\t{ "stream" : true , "model":"модель 😀", "messages":[] }\n',
      '{"stream":true,"prompt":"say \\"}\\" {","options":{"stream_options":1}}',
      '{"stream":true,"stream_options":null,"model":"m"}',
      '{"stream":true,"stream_options":{"other":1},"model":"m"}',
    ];
    for (const path of ["/v1/chat/completions", "/v1/completions"]) {
      for (const text of bodies) {
        const p = prepared(path, text);
        expect(p.stripUsage).toBe(true);
        expect(JSON.parse(decoder.decode(p.body as Uint8Array))).toEqual(prepareRequest(path, JSON.parse(text)).body);
      }
    }
    // Without stream_options of its own the client's bytes follow the new member unchanged.
    expect(decoder.decode(prepared("/v1/chat/completions", bodies[1]!).body as Uint8Array)).toBe(
      ' \r\n\t{"stream_options":{"include_usage":true}, "stream" : true , "model":"модель 😀", "messages":[] }\n',
    );
  });

  it("puts the member into an empty object without a comma, and refuses bytes that are no object", () => {
    expect(decoder.decode(withIncludeUsage(encoder.encode(" { } "))!)).toBe(' {"stream_options":{"include_usage":true} } ');
    expect(withIncludeUsage(encoder.encode("\ufeff{}"))).toBeNull();
    expect(withIncludeUsage(encoder.encode("[]"))).toBeNull();
    expect(withIncludeUsage(new Uint8Array(0))).toBeNull();
  });
});
