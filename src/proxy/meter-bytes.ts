// Byte helpers for the stream meters. They work on Uint8Array views so a
// chunk is never decoded unless it carries counts.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Bun's Buffer.indexOf is a native substring search that also accepts a plain
// Uint8Array; it is several times faster than a JavaScript loop per frame.
export const nativeIndexOf = Buffer.prototype.indexOf as (
  this: Uint8Array,
  value: Uint8Array,
  byteOffset: number,
) => number;

export const LF = 0x0a;

export function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

export function startsWithAt(buf: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

export function endsWithAt(buf: Uint8Array, end: number, suffix: Uint8Array): boolean {
  return end - suffix.length >= 0 && startsWithAt(buf, end - suffix.length, suffix);
}

/** End of the frame's payload: its end without trailing newlines. */
export function trimNewlines(buf: Uint8Array, start: number, end: number): number {
  while (end > start && (buf[end - 1] === LF || buf[end - 1] === 0x0d)) end--;
  return end;
}

export function parseJson(buf: Uint8Array, start: number, end: number): unknown {
  try {
    return JSON.parse(decoder.decode(buf.subarray(start, end)));
  } catch {
    return undefined;
  }
}

export function concatBytes(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Finds one needle across the frames of a chunk without rescanning: a search
 * that ran past the current frame is remembered for the next frames of the
 * same buffer, so a chunk holding many frames is scanned once, not once per frame.
 */
export class NeedleFinder {
  private buf: Uint8Array | null = null;
  private hit = -1;
  private from = 0;

  constructor(private readonly needle: Uint8Array) {}

  /** Index of the needle in buf[start, end), or -1. */
  find(buf: Uint8Array, start: number, end: number): number {
    if (buf !== this.buf || start < this.from || (this.hit !== -1 && this.hit < start)) {
      this.buf = buf;
      this.from = start;
      this.hit = nativeIndexOf.call(buf, this.needle, start);
    }
    return this.hit !== -1 && this.hit + this.needle.length <= end ? this.hit : -1;
  }
}
