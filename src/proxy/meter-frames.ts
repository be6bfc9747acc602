// Splits a byte stream into frames (NDJSON lines or SSE events) across
// chunk boundaries, keeping only the unfinished tail between chunks.
import { LF, concatBytes, nativeIndexOf } from "./meter-bytes.ts";

/** One search per SSE event, where looking for each line break and then at the byte before took two. */
const BLANK_LINE = new Uint8Array([LF, LF]);

/** Bytes buf[from, to) to remove from a frame before the client sees it. */
export interface Cut {
  from: number;
  to: number;
}

/**
 * Reads one complete frame: buf[start, end) including its delimiter (the last
 * frame of a stream may lack it). Returns a cut when an editing splitter must
 * remove bytes, or null to forward the frame unchanged.
 */
export type FrameHandler = (buf: Uint8Array, start: number, end: number) => Cut | null;

export type Framing = "line" | "event";

/**
 * Without editing, every chunk is forwarded as the same Uint8Array and only a
 * copy of an unfinished frame is kept for scanning. With editing, unfinished
 * frames are held back (a partial frame might be one to remove) and a chunk is
 * still forwarded as is whenever it holds only whole frames that need no cut.
 */
export class FrameSplitter {
  private held: Uint8Array[] = [];
  private heldLength = 0;
  /** Editing: what goes on from one call, as (buf, from, to) triples; reused from call to call. */
  private readonly segments: (Uint8Array | number)[] = [];

  constructor(
    private readonly framing: Framing,
    private readonly onFrame: FrameHandler,
    private readonly editing: boolean,
  ) {}

  /**
   * Scans buf[from, to); returns the bytes to forward now (null: nothing), or buf itself when
   * the run goes on unchanged (no view of it is made: the front passes runs of its reads).
   */
  push(buf: Uint8Array, from = 0, to = buf.length): Uint8Array | null {
    if (to === from) return this.editing ? null : buf;
    const out = this.editing ? this.segments : null;
    if (out) out.length = 0;
    const changed = this.split(buf, from, to, out);
    if (!out || !changed) return buf;
    return joinSegments(out);
  }

  /**
   * Scans buf[from, to) of a stream that goes to the client unchanged, without a view of the
   * run: the front reads a response's chunks in place, between their framing. Not editing only.
   */
  read(buf: Uint8Array, from: number, to: number): void {
    if (this.editing) throw new Error("FrameSplitter.read() on an editing splitter: use push()");
    if (to > from) this.split(buf, from, to, null);
  }

  /** Emits the frames that end in buf[from, to) and holds the rest; true when what goes on differs from the input. */
  private split(buf: Uint8Array, from: number, to: number, out: (Uint8Array | number)[] | null): boolean {
    let pos = from;
    let cut = false;
    const held = this.heldLength > 0;
    if (held) {
      const end = this.frameEnd(buf, from, to);
      if (end === -1) {
        this.hold(buf, from, to);
        return true;
      }
      const frame = concatBytes([...this.held, buf.subarray(from, end)], this.heldLength + end - from);
      this.held = [];
      this.heldLength = 0;
      cut = this.emit(frame, 0, frame.length, out) || cut;
      pos = end;
    }
    for (let end = this.frameEnd(buf, pos, to); end !== -1; end = this.frameEnd(buf, pos, to)) {
      cut = this.emit(buf, pos, end, out) || cut;
      pos = end;
    }
    if (pos < to) this.hold(buf, pos, to);
    return held || cut || pos < to;
  }

  /** End of stream: hands over an unterminated last frame; returns what remains to forward. */
  end(): Uint8Array | null {
    if (this.heldLength === 0) return null;
    const frame = concatBytes(this.held, this.heldLength);
    this.held = [];
    this.heldLength = 0;
    const out = this.editing ? this.segments : null;
    if (out) out.length = 0;
    this.emit(frame, 0, frame.length, out);
    return out && joinSegments(out);
  }

  private emit(buf: Uint8Array, start: number, end: number, out: (Uint8Array | number)[] | null): boolean {
    const cut = this.onFrame(buf, start, end);
    if (!out) return false;
    if (!cut) {
      out.push(buf, start, end);
      return false;
    }
    if (cut.from > start) out.push(buf, start, cut.from);
    if (cut.to < end) out.push(buf, cut.to, end);
    return true;
  }

  private hold(buf: Uint8Array, from: number, to: number): void {
    // A forwarded chunk belongs to the client side now: keep a copy of its tail.
    const tail = this.editing ? buf.subarray(from, to) : buf.slice(from, to);
    this.held.push(tail);
    this.heldLength += tail.length;
  }

  /** Index just past the first frame delimiter in buf[from, to), or -1. */
  private frameEnd(buf: Uint8Array, from: number, to: number): number {
    if (this.framing === "line") {
      const nl = buf.indexOf(LF, from);
      return nl !== -1 && nl < to ? nl + 1 : -1;
    }
    // An SSE event ends with an empty line. Ollama writes "\n\n" only (fmt "data: %s\n\n" in
    // middleware/openai.go and anthropic.go), never CRLF; the two may arrive in different chunks.
    if (buf[from] === LF && from < to && this.heldEndsWithLf()) return from + 1;
    const blank = nativeIndexOf.call(buf, BLANK_LINE, from);
    return blank !== -1 && blank + 2 <= to ? blank + 2 : -1;
  }

  private heldEndsWithLf(): boolean {
    const last = this.held[this.held.length - 1];
    return last !== undefined && last[last.length - 1] === LF;
  }
}

/** The (buf, from, to) triples of out, joined into new bytes; null when empty. */
function joinSegments(out: (Uint8Array | number)[]): Uint8Array | null {
  let length = 0;
  for (let i = 0; i < out.length; i += 3) length += (out[i + 2] as number) - (out[i + 1] as number);
  if (length === 0) return null;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < out.length; i += 3) {
    const from = out[i + 1] as number;
    const to = out[i + 2] as number;
    bytes.set((out[i] as Uint8Array).subarray(from, to), at);
    at += to - from;
  }
  return bytes;
}
