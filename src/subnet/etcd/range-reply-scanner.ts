/**
 * Reads a range reply of the gRPC-gateway (`{"header": {...}, "kvs": [{...}, ...], "more":
 * true, "count": "5000"}`) as its bytes arrive, handing each element of `kvs` to a callback
 * as soon as it is complete. A page of 2,000 leases (~800 KB of JSON) is thus never held
 * whole, neither as bytes nor as text nor as one parsed tree: only the element being read and
 * the small rest of the reply (header, more, count), parsed at the end with `kvs` left empty.
 * Chunks may split anything anywhere, a multi-byte UTF-8 character included.
 */
import type { WireKeyValue, WireRangeResponse } from './etcd-wire.js';

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const KVS = Buffer.from('"kvs"', 'latin1');
const EMPTY_ARRAY = Buffer.from('[]', 'latin1');

export class RangeReplyScanner {
  /** The reply without the elements of `kvs`. */
  private readonly rest: Buffer[] = [];
  /** Pieces of the `kvs` element being read (it may span chunks). */
  private element: Buffer[] = [];
  /** Nesting depth: 1 inside the reply object, 2 inside `kvs`, 3+ inside an element. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The last string that ended at depth 1 (a key, or a value) was exactly "kvs". */
  private lastKeyIsKvs = false;
  /** For the string open at depth 1: how many of its bytes (quotes included) were read, and whether they match `"kvs"` so far. */
  private keyRead = -1;
  private keyMatches = false;
  private inKvs = false;
  private done = false;
  /** Where the next backslash of the chunk being read is (-1: none left; -2: not searched yet). */
  private nextBackslash = -2;

  constructor(private readonly onKv: (kv: WireKeyValue) => void) {}

  /** Feeds one chunk; calls onKv for each element it completes. Throws SyntaxError on malformed JSON. */
  push(chunk: Buffer): void {
    this.nextBackslash = -2;
    let restFrom = this.inKvs ? -1 : 0;
    let elementFrom = this.depth >= 3 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString && this.keyRead < 0) {
        // Inside a value string (base64 keys and values: nearly all the bytes): jump to its end
        // with native searches rather than a step per byte.
        i = this.skipString(chunk, i);
        continue;
      }
      const b = chunk[i]!;
      if (this.inString) {
        this.keyByte(b);
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.keyRead >= 0) {
            this.lastKeyIsKvs = this.keyMatches && this.keyRead === KVS.length;
            this.keyRead = -1;
          }
        }
        continue;
      }
      if (this.done) {
        if (!isSpace(b)) throw new SyntaxError(`unexpected byte 0x${b.toString(16)} after the range reply`);
        continue;
      }
      if (this.inKvs && this.depth === 2 && b !== OPEN_OBJECT && b !== CLOSE_ARRAY && b !== COMMA && !isSpace(b)) {
        throw new SyntaxError('a kvs element is not an object');
      }
      if (b === QUOTE) {
        this.inString = true;
        if (this.depth === 1) {
          this.keyRead = 0;
          this.keyMatches = true;
          this.keyByte(b);
        }
        continue;
      }
      if (this.depth === 0) {
        if (b === OPEN_OBJECT) this.depth = 1;
        else if (!isSpace(b)) throw new SyntaxError(`range reply does not start with an object (byte 0x${b.toString(16)})`);
        continue;
      }
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (this.depth === 1 && b === OPEN_ARRAY && this.lastKeyIsKvs) {
          // The kvs array begins: what came before goes to `rest`, with an empty array in its place.
          this.rest.push(chunk.subarray(restFrom, i), EMPTY_ARRAY);
          restFrom = -1;
          this.inKvs = true;
        } else if (this.inKvs && this.depth === 2) {
          elementFrom = i;
        }
        this.depth++;
        continue;
      }
      if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        this.depth--;
        if (this.inKvs && this.depth === 2) {
          this.emit(chunk.subarray(elementFrom, i + 1));
          elementFrom = -1;
        } else if (this.inKvs && this.depth === 1) {
          this.inKvs = false;
          restFrom = i + 1;
        } else if (this.depth === 0) {
          this.done = true;
        }
        this.lastKeyIsKvs = false;
      }
    }
    if (restFrom >= 0) this.rest.push(chunk.subarray(restFrom));
    if (elementFrom >= 0) this.element.push(chunk.subarray(elementFrom));
  }

  /** The reply's other fields (`kvs` empty); throws SyntaxError when the reply is incomplete. */
  end(): WireRangeResponse {
    if (!this.done) throw new SyntaxError('range reply ended early');
    return JSON.parse(Buffer.concat(this.rest).toString('utf8')) as WireRangeResponse;
  }

  /**
   * In a string that is not a depth-1 key: the index of its closing quote in `chunk` (leaving
   * the string), or the last index when it goes on past the chunk (escape state carried).
   */
  private skipString(chunk: Buffer, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    for (;;) {
      const quote = chunk.indexOf(QUOTE, i);
      // The next backslash is searched for again only once passed (none: -1 for the whole chunk).
      if (this.nextBackslash !== -1 && this.nextBackslash < i) this.nextBackslash = chunk.indexOf(BACKSLASH, i);
      const backslash = this.nextBackslash;
      if (backslash >= 0 && (quote < 0 || backslash < quote)) {
        // An escape: the byte after the backslash is taken as it is, whatever it is.
        if (backslash + 1 >= chunk.length) {
          this.escaped = true;
          return chunk.length - 1;
        }
        i = backslash + 2;
        continue;
      }
      if (quote < 0) return chunk.length - 1;
      this.inString = false;
      return quote;
    }
  }

  private keyByte(b: number): void {
    if (this.keyMatches && (this.keyRead >= KVS.length || KVS[this.keyRead] !== b)) this.keyMatches = false;
    this.keyRead++;
  }

  private emit(last: Buffer): void {
    const bytes = this.element.length === 0 ? last : Buffer.concat([...this.element, last]);
    this.element = [];
    this.onKv(JSON.parse(bytes.toString('utf8')) as WireKeyValue);
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
