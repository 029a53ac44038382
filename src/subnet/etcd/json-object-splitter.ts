/**
 * Splits a byte stream of concatenated JSON objects (the gRPC-gateway's streaming format:
 * one object per message, newline-delimited) into parsed objects. Object boundaries are
 * found by tracking brace depth outside strings, so it does not depend on the newlines, and
 * chunks may split an object (or a multi-byte UTF-8 character) anywhere.
 */
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class JsonObjectSplitter {
  private pending: Buffer[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Bytes buffered towards an object not yet complete. */
  get bufferedBytes(): number {
    let n = 0;
    for (const b of this.pending) n += b.length;
    return n;
  }

  /**
   * Feeds one chunk; returns the objects it completed, in order. Throws SyntaxError on bytes
   * outside an object that are not whitespace, or on an object JSON.parse rejects.
   */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (b === OPEN) {
          this.depth = 1;
          start = i;
        } else if (!isSpace(b)) {
          throw new SyntaxError(`unexpected byte 0x${b.toString(16)} between JSON objects`);
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN) this.depth++;
      else if (b === CLOSE && --this.depth === 0) {
        const piece = chunk.subarray(start, i + 1);
        const whole = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
        this.pending = [];
        start = -1;
        out.push(JSON.parse(whole.toString('utf8')));
      }
    }
    if (this.depth > 0 && start >= 0) this.pending.push(chunk.subarray(start));
    return out;
  }
}
