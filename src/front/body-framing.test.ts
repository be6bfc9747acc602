import { describe, expect, it } from "vitest";
import { BodyReader, type Framing } from "./body-framing.ts";

/** Feeds bytes in the given pieces; returns the payload seen, where the body ended, and whether it was broken. */
function readAll(framing: Framing, pieces: Uint8Array[]): { payload: string; endedAt: number | null; broken: boolean } {
  const reader = new BodyReader(framing);
  let payload = "";
  let offset = 0;
  for (const piece of pieces) {
    const end = reader.read(piece, 0, piece.length, (s, e) => (payload += Buffer.from(piece.subarray(s, e)).toString()));
    if (end === -1) return { payload, endedAt: null, broken: true };
    if (reader.done) return { payload, endedAt: offset + end, broken: false };
    offset += piece.length;
  }
  return { payload, endedAt: null, broken: false };
}

function splits(bytes: Buffer): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push([...bytes].map((b) => Uint8Array.of(b)));
  return out;
}

describe("BodyReader", () => {
  it("reads chunked bodies split at every byte, with extensions and trailers", () => {
    const line = '{"done":true,"eval_count":10}\n';
    const wire = Buffer.from(`5;name=value\r\nhello\r\n${line.length.toString(16).toUpperCase()}\r\n${line}\r\n0\r\nx-trailer: 1\r\n\r\nNEXT`);
    for (const pieces of splits(wire)) {
      const r = readAll({ kind: "chunked" }, pieces);
      expect(r).toEqual({ payload: `hello${line}`, endedAt: wire.length - 4, broken: false });
    }
  });

  it("says where a chunk read in one piece starts, and nothing for a chunk split between reads", () => {
    const wire = Buffer.from("5;x=1\r\nhello\r\n3\r\nabc\r\n4\r\nwxyz\r\n0\r\n\r\n");
    const cut = wire.indexOf("wx") + 2;
    const reader = new BodyReader({ kind: "chunked" });
    const runs: [string, number][] = [];
    for (const piece of [wire.subarray(0, cut), wire.subarray(cut)]) {
      reader.read(piece, 0, piece.length, (start, end, chunkAt) => runs.push([piece.subarray(start, end).toString(), chunkAt]));
    }
    expect(runs).toEqual([["hello", 0], ["abc", wire.indexOf("3\r\n")], ["wx", -1], ["yz", -1]]);
  });

  it("accepts bare LF line ends", () => {
    expect(readAll({ kind: "chunked" }, [Buffer.from("3\nabc\n0\n\n")])).toEqual({ payload: "abc", endedAt: 9, broken: false });
  });

  it("refuses broken chunk framing", () => {
    for (const wire of ["zz\r\n", "\r\n", "3\r\nabcX\r\n", "1234567890abc\r\n"]) {
      expect(readAll({ kind: "chunked" }, [Buffer.from(wire)]).broken, wire).toBe(true);
    }
  });

  it("stops a sized body at its length", () => {
    for (const pieces of splits(Buffer.from("abcdefXYZ"))) {
      expect(readAll({ kind: "length", length: 6 }, pieces)).toEqual({ payload: "abcdef", endedAt: 6, broken: false });
    }
    expect(readAll({ kind: "length", length: 0 }, [Buffer.alloc(0)])).toEqual({ payload: "", endedAt: 0, broken: false });
  });

  it("never ends a close-delimited body by itself", () => {
    expect(readAll({ kind: "close" }, [Buffer.from("abc"), Buffer.from("def")])).toEqual({ payload: "abcdef", endedAt: null, broken: false });
  });
});
