/**
 * Picks chosen paths out of JSON that arrives in chunks, without building the rest: one pass
 * of a byte scanner that follows nesting and strings, keeps the bytes of the picked values
 * only, and hands each to JSON.parse. Everything else (a Node's status, images, managedFields)
 * is stepped over and never becomes a string or an object. Used for the node list (tens of MB
 * at 5,000 nodes: each item is emitted as a small record as soon as it closes) and for the
 * watch stream (one document per event, back to back).
 *
 * The scanner trusts the server to send JSON: it checks nesting and completeness (a truncated
 * body is an error), and every picked value goes through JSON.parse, but bytes it steps over
 * are not validated.
 */

/** Which paths to keep: `true` keeps the whole value; an object keeps chosen keys; '*' is every array element. */
export type PickSpec = true | { readonly [key: string]: PickSpec };

interface PickNode {
  readonly take: boolean;
  readonly children: ReadonlyMap<string, PickNode> | undefined;
  /** Picks keys of an object (children other than '*'). */
  readonly keyed: boolean;
  /** Picks elements of an array (a '*' child). */
  readonly elements: boolean;
  /** Elements at this path are emitted one by one (onRecord) instead of being kept. */
  readonly record: boolean;
}

function compile(spec: PickSpec, recordPath: readonly string[] | undefined, depth = 0): PickNode {
  const atRecord = recordPath !== undefined && depth === recordPath.length;
  if (spec === true) return { take: true, children: undefined, keyed: false, elements: false, record: atRecord };
  const children = new Map<string, PickNode>();
  for (const [k, v] of Object.entries(spec)) {
    const onPath = recordPath !== undefined && recordPath[depth] === k;
    children.set(k, compile(v, onPath ? recordPath : undefined, depth + 1));
  }
  return { take: false, children, keyed: [...children.keys()].some((k) => k !== '*'), elements: children.has('*'), record: atRecord };
}

export class JsonPickError extends Error {}

interface Frame {
  readonly array: boolean;
  readonly node: PickNode;
  /** Where picked values under this container go. */
  readonly out: Record<string, unknown> | unknown[];
  expectKey: boolean;
  /** The node of the value after the current key (objects), undefined: not picked. */
  next: PickNode | undefined;
  key: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const enum Mode {
  /** Inside containers that hold picked paths: keys are read, frames kept. */
  Struct,
  /** Stepping over a value nobody wants. */
  Skip,
  /** Keeping a value's bytes. */
  Take,
}

export interface JsonPickerOptions {
  readonly picks: PickSpec;
  /** Path (keys, '*' for elements) whose values are handed to onRecord one at a time. */
  readonly recordPath?: readonly string[];
  readonly onRecord?: (record: Record<string, unknown>) => void;
  /** Called for each complete top-level value (one per document; a stream may hold several). */
  readonly onDocument: (doc: Record<string, unknown>) => void;
}

/** A streaming picker: write() chunks, end() when the input is complete. */
export class JsonPicker {
  private readonly root: PickNode;
  private stack: Frame[] = [];
  private mode = Mode.Struct;
  /** Nesting inside a skipped or taken container. */
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Inside a bare scalar (number, true, false, null) that is itself the skipped/taken value. */
  private scalar = false;
  private parts: Buffer[] = [];
  private partStart = -1;
  /** Reading a key of a Struct object. */
  private inKey = false;
  private keyHasEscape = false;
  private doc: Record<string, unknown> | undefined;
  /** Bytes seen, for error messages. */
  private offset = 0;

  constructor(private readonly opts: JsonPickerOptions) {
    this.root = compile(opts.picks, opts.recordPath);
  }

  write(chunk: Buffer): void {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
        } else if (c === BACKSLASH) {
          this.escape = true;
          if (this.inKey) this.keyHasEscape = true;
        } else if (c === QUOTE) {
          this.inString = false;
          if (this.mode !== Mode.Struct) {
            if (this.depth === 0) this.valueEnd(chunk, i + 1);
          } else if (this.inKey) {
            this.keyEnd(chunk, i);
          }
        } else if (this.mode !== Mode.Struct) {
          i = this.skipString(chunk, i);
        }
        continue;
      }
      if (this.scalar) {
        if (!isDelimiter(c)) continue;
        this.scalar = false;
        this.valueEnd(chunk, i);
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.mode === Mode.Struct) {
            const top = this.stack[this.stack.length - 1];
            if (top && !top.array && top.expectKey) {
              this.inKey = true;
              this.keyHasEscape = false;
              this.partStart = i + 1;
            } else {
              this.valueStart(chunk, i, false);
            }
          }
          break;
        case OPEN_OBJ:
        case OPEN_ARR:
          if (this.mode !== Mode.Struct) this.depth++;
          else this.valueStart(chunk, i, true);
          break;
        case CLOSE_OBJ:
        case CLOSE_ARR:
          if (this.mode !== Mode.Struct) {
            if (--this.depth === 0) this.valueEnd(chunk, i + 1);
          } else {
            this.closeFrame();
          }
          break;
        case COMMA:
          if (this.mode === Mode.Struct) {
            const top = this.stack[this.stack.length - 1];
            if (top && !top.array) top.expectKey = true;
          }
          break;
        case COLON:
          if (this.mode === Mode.Struct) {
            const top = this.stack[this.stack.length - 1];
            if (top) top.expectKey = false;
          }
          break;
        case 0x20:
        case 0x09:
        case 0x0a:
        case 0x0d:
          break;
        default:
          if (this.mode === Mode.Struct) {
            this.valueStart(chunk, i, false);
            this.scalar = true;
          }
      }
    }
    // Carry a value or key that goes on into the next chunk.
    if (this.partStart >= 0) {
      this.parts.push(chunk.subarray(this.partStart));
      this.partStart = 0;
    }
    this.offset += n;
  }

  /**
   * Inside a string at an ordinary byte i: the index just before the string's closing quote
   * (or the chunk's last index when the string goes on), with `escape` set for the next chunk.
   * Most bytes stepped over are inside strings; a native search finds their end.
   */
  private skipString(chunk: Buffer, i: number): number {
    let from = i + 1;
    for (;;) {
      const q = chunk.indexOf(QUOTE, from);
      // Backslashes right before the quote (or the chunk's end) decide whether it is escaped.
      const end = q < 0 ? chunk.length : q;
      let k = 0;
      while (end - k - 1 > i && chunk[end - k - 1] === BACKSLASH) k++;
      if (q < 0) {
        this.escape = k % 2 === 1;
        return chunk.length - 1;
      }
      if (k % 2 === 0) return q - 1;
      from = q + 1;
    }
  }

  /** The input is complete: a value left open is an error. */
  end(): void {
    if (this.scalar) {
      this.scalar = false;
      this.valueEnd(Buffer.alloc(0), 0);
    }
    if (this.inString || this.stack.length > 0 || this.mode !== Mode.Struct) {
      throw new JsonPickError(`JSON ends inside a value after ${this.offset} bytes (truncated?)`);
    }
  }

  /** The node for a value starting now, from the enclosing frame (or the root). */
  private nodeForValue(): PickNode | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top) return this.root;
    if (top.array) return top.node.children?.get('*');
    return top.next;
  }

  private valueStart(chunk: Buffer, i: number, container: boolean): void {
    const node = this.nodeForValue();
    if (node?.take && !node.record) {
      this.mode = Mode.Take;
      this.partStart = i;
      this.parts = [];
      this.depth = container ? 1 : 0;
      return;
    }
    if (container && node?.keyed && chunk[i] === OPEN_OBJ) {
      const parent = this.stack[this.stack.length - 1];
      let out: Record<string, unknown>;
      if (node.record || !parent) out = {};
      else out = this.childOut(parent);
      this.stack.push({ array: false, node, out, expectKey: true, next: undefined, key: '' });
      return;
    }
    if (container && node?.elements && chunk[i] === OPEN_ARR) {
      const parent = this.stack[this.stack.length - 1];
      const out: unknown[] = [];
      if (parent && !node.record) this.attach(parent, out);
      this.stack.push({ array: true, node, out, expectKey: false, next: undefined, key: '' });
      return;
    }
    this.mode = Mode.Skip;
    this.depth = container ? 1 : 0;
  }

  private childOut(parent: Frame): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.attach(parent, out);
    return out;
  }

  private attach(parent: Frame, value: unknown): void {
    if (Array.isArray(parent.out)) parent.out.push(value);
    else parent.out[parent.key] = value;
  }

  /** A skipped or taken value ended just before `end`. */
  private valueEnd(chunk: Buffer, end: number): void {
    if (this.mode === Mode.Take) {
      this.parts.push(chunk.subarray(this.partStart, end));
      const text = this.parts.length === 1 ? (this.parts[0] as Buffer).toString('utf8') : Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.partStart = -1;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new JsonPickError(`bad JSON value near byte ${this.offset + end}: ${(err as Error).message}`);
      }
      const top = this.stack[this.stack.length - 1];
      if (top) this.attach(top, value);
      else this.documentEnd(value);
    } else if (this.stack.length === 0) {
      this.documentEnd(undefined);
    }
    this.mode = Mode.Struct;
    this.depth = 0;
  }

  private keyEnd(chunk: Buffer, end: number): void {
    this.inKey = false;
    this.parts.push(chunk.subarray(this.partStart, end));
    const raw = this.parts.length === 1 ? (this.parts[0] as Buffer).toString('utf8') : Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.partStart = -1;
    let key = raw;
    if (this.keyHasEscape) {
      try {
        key = JSON.parse(`"${raw}"`) as string;
      } catch (err) {
        throw new JsonPickError(`bad key near byte ${this.offset + end}: ${(err as Error).message}`);
      }
    }
    const top = this.stack[this.stack.length - 1] as Frame;
    top.key = key;
    top.next = top.node.children?.get(key);
  }

  private closeFrame(): void {
    const frame = this.stack.pop();
    if (!frame) throw new JsonPickError(`unbalanced "}" or "]" at byte ${this.offset}`);
    if (frame.node.record) this.opts.onRecord?.(frame.out as Record<string, unknown>);
    if (this.stack.length === 0) this.documentEnd(frame.out);
  }

  private documentEnd(value: unknown): void {
    this.doc = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    this.opts.onDocument(this.doc);
  }
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === COLON;
}
