/**
 * Finds the payload and the end of an upstream response body framed by Content-Length, by
 * chunked transfer coding, or by the connection's close. The raw bytes go to the client as they
 * are; only the meter needs the payload, so this reads the framing without copying.
 */
export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

const enum Chunked {
  Size,
  Extension,
  SizeEnd,
  Data,
  DataEnd,
  Trailer,
  Done,
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * One run of body bytes, buf[start, end). chunkAt >= 0 when the run is a whole chunk's data read
 * in one piece: its size line starts at chunkAt, and the chunk ends with the line break after end.
 */
export type Payload = (start: number, end: number, chunkAt: number) => void;

export class BodyReader {
  private remaining: number;
  private state = Chunked.Size;
  private digits = 0;
  /** Bytes of the trailer line being read (0 at a line's start). */
  private lineLength = 0;
  /** Where the current chunk's size line starts in the buffer being read; -1 when it began in an earlier read. */
  private sizeLineAt = -1;

  constructor(readonly framing: Framing) {
    this.remaining = framing.kind === "length" ? framing.length : 0;
  }

  get done(): boolean {
    const f = this.framing.kind;
    return f === "none" || (f === "length" && this.remaining === 0) || (f === "chunked" && this.state === Chunked.Done);
  }

  /**
   * Reads buf[from, to): calls payload() for each run of body bytes and returns the index just
   * past the body's end (to when the body goes on), or -1 when the chunked framing is broken.
   */
  read(buf: Uint8Array, from: number, to: number, payload: Payload): number {
    switch (this.framing.kind) {
      case "none":
        return from;
      case "close":
        if (to > from) payload(from, to, -1);
        return to;
      case "length": {
        const end = Math.min(to, from + this.remaining);
        if (end > from) payload(from, end, -1);
        this.remaining -= end - from;
        return end;
      }
      case "chunked":
        return this.readChunked(buf, from, to, payload);
    }
  }

  // Byte by byte outside the data: a stream of one-token chunks is mostly framing.
  private readChunked(buf: Uint8Array, at: number, to: number, payload: Payload): number {
    this.sizeLineAt = this.state === Chunked.Size && this.digits === 0 ? at : -1;
    while (at < to) {
      switch (this.state) {
        case Chunked.Data: {
          const end = Math.min(to, at + this.remaining);
          payload(at, end, end === at + this.remaining ? this.sizeLineAt : -1);
          this.remaining -= end - at;
          at = end;
          if (this.remaining === 0) this.state = Chunked.DataEnd;
          continue;
        }
        case Chunked.Size: {
          const c = buf[at]!;
          const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
          if (digit >= 0) {
            if (++this.digits > 12) return -1;
            this.remaining = this.remaining * 16 + digit;
          } else if (this.digits === 0) return -1;
          else if (c === CR) this.state = Chunked.SizeEnd;
          else if (c === LF) this.sizeRead();
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = Chunked.Extension;
          else return -1;
          at++;
          continue;
        }
        case Chunked.Extension: {
          const nl = buf.indexOf(LF, at);
          if (nl === -1 || nl >= to) return to;
          at = nl + 1;
          this.sizeRead();
          continue;
        }
        case Chunked.SizeEnd:
          if (buf[at++] !== LF) return -1;
          this.sizeRead();
          continue;
        case Chunked.DataEnd: {
          const c = buf[at++]!;
          if (c === LF) {
            this.state = Chunked.Size;
            this.sizeLineAt = at;
          } else if (c !== CR) return -1;
          continue;
        }
        case Chunked.Trailer: {
          const c = buf[at++]!;
          if (c === LF) {
            if (this.lineLength === 0) {
              this.state = Chunked.Done;
              return at;
            }
            this.lineLength = 0;
          } else if (c !== CR && ++this.lineLength > 8192) return -1;
          continue;
        }
        case Chunked.Done:
          return at;
      }
    }
    return at;
  }

  private sizeRead(): void {
    this.digits = 0;
    this.state = this.remaining === 0 ? Chunked.Trailer : Chunked.Data;
  }
}
