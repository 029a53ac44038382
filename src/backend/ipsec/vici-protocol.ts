import { ViciError } from './vici-errors.js';

/**
 * strongSwan's VICI wire format. Each packet on the stream is a 32-bit big-endian length
 * followed by that many bytes: a packet type, for named types an 8-bit-length name, and for
 * types that carry one a message. A message is a sequence of elements: sections (named,
 * nested), key/values (8-bit-length name, 16-bit-length value) and lists of 16-bit-length items.
 */
export const ViciPacketType = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const;
export type ViciPacketType = (typeof ViciPacketType)[keyof typeof ViciPacketType];

export const ViciElement = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const;

/** charon refuses packets above 512 KiB; so do we, both ways. */
export const VICI_MAX_PACKET = 512 * 1024;

/** A value: text or bytes, a list of them, or a nested section. Keys keep insertion order. */
export type ViciValue = string | Buffer | readonly (string | Buffer)[] | ViciMessage;
export interface ViciMessage {
  readonly [key: string]: ViciValue;
}

/** One decoded packet. `name` is set for named types (requests, registrations, events). */
export interface ViciPacket {
  readonly type: ViciPacketType;
  readonly name: string | undefined;
  readonly message: ViciMessage | undefined;
}

const NAMED: ReadonlySet<number> = new Set([ViciPacketType.CMD_REQUEST, ViciPacketType.EVENT_REGISTER, ViciPacketType.EVENT_UNREGISTER, ViciPacketType.EVENT]);
const WITH_MESSAGE: ReadonlySet<number> = new Set([ViciPacketType.CMD_REQUEST, ViciPacketType.CMD_RESPONSE, ViciPacketType.EVENT]);

/** The framed bytes of a packet (length prefix included). */
export function encodeViciPacket(type: ViciPacketType, name?: string, message?: ViciMessage): Buffer {
  const parts: Buffer[] = [Buffer.from([type])];
  if (NAMED.has(type)) {
    if (name === undefined) throw new ViciError('ERR_VICI_PROTOCOL', '', `packet type ${type} needs a name`);
    parts.push(encodeName(name));
  }
  if (WITH_MESSAGE.has(type)) encodeMessage(message ?? {}, parts);
  const body = Buffer.concat(parts);
  if (body.length > VICI_MAX_PACKET) throw new ViciError('ERR_VICI_PROTOCOL', name ?? '', `packet of ${body.length} bytes exceeds ${VICI_MAX_PACKET}`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** The message elements of `message` (no packet header). */
export function encodeViciMessage(message: ViciMessage): Buffer {
  const parts: Buffer[] = [];
  encodeMessage(message, parts);
  return Buffer.concat(parts);
}

function encodeMessage(message: ViciMessage, parts: Buffer[]): void {
  for (const [key, value] of Object.entries(message)) {
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      parts.push(Buffer.from([ViciElement.KEY_VALUE]), encodeName(key), encodeValue(key, value));
    } else if (Array.isArray(value)) {
      parts.push(Buffer.from([ViciElement.LIST_START]), encodeName(key));
      for (const item of value as readonly (string | Buffer)[]) parts.push(Buffer.from([ViciElement.LIST_ITEM]), encodeValue(key, item));
      parts.push(Buffer.from([ViciElement.LIST_END]));
    } else {
      parts.push(Buffer.from([ViciElement.SECTION_START]), encodeName(key));
      encodeMessage(value as ViciMessage, parts);
      parts.push(Buffer.from([ViciElement.SECTION_END]));
    }
  }
}

function encodeName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length > 255) throw new ViciError('ERR_VICI_PROTOCOL', '', `name "${name}" must be 1 to 255 bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function encodeValue(key: string, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > 0xffff) throw new ViciError('ERR_VICI_PROTOCOL', '', `value of ${key} is ${bytes.length} bytes (at most 65535)`);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bytes.length);
  return Buffer.concat([head, bytes]);
}

/** Decodes one packet body (without its length prefix). Values decode as UTF-8 text. */
export function decodeViciPacket(body: Buffer): ViciPacket {
  const r = new Reader(body);
  const type = r.u8();
  if (type > ViciPacketType.EVENT) throw new ViciError('ERR_VICI_PROTOCOL', '', `unknown packet type ${type}`);
  const name = NAMED.has(type) ? r.name() : undefined;
  const message = WITH_MESSAGE.has(type) ? decodeMessage(r) : undefined;
  if (!r.done()) throw new ViciError('ERR_VICI_PROTOCOL', name ?? '', `${body.length - r.offset} trailing bytes after packet type ${type}`);
  return { type: type as ViciPacketType, name, message };
}

function decodeMessage(r: Reader): ViciMessage {
  const stack: Record<string, ViciValue>[] = [{}];
  let list: string[] | undefined;
  while (!r.done()) {
    const el = r.u8();
    const top = stack[stack.length - 1] as Record<string, ViciValue>;
    if (list !== undefined && el !== ViciElement.LIST_ITEM && el !== ViciElement.LIST_END) {
      throw new ViciError('ERR_VICI_PROTOCOL', '', `element ${el} inside a list`);
    }
    switch (el) {
      case ViciElement.SECTION_START: {
        const section: Record<string, ViciValue> = {};
        top[r.name()] = section;
        stack.push(section);
        break;
      }
      case ViciElement.SECTION_END:
        if (stack.length === 1) throw new ViciError('ERR_VICI_PROTOCOL', '', 'SECTION_END without a section');
        stack.pop();
        break;
      case ViciElement.KEY_VALUE: {
        const key = r.name();
        top[key] = r.value();
        break;
      }
      case ViciElement.LIST_START: {
        const items: string[] = [];
        top[r.name()] = items;
        list = items;
        break;
      }
      case ViciElement.LIST_ITEM:
        if (list === undefined) throw new ViciError('ERR_VICI_PROTOCOL', '', 'LIST_ITEM outside a list');
        list.push(r.value());
        break;
      case ViciElement.LIST_END:
        if (list === undefined) throw new ViciError('ERR_VICI_PROTOCOL', '', 'LIST_END without a list');
        list = undefined;
        break;
      default:
        throw new ViciError('ERR_VICI_PROTOCOL', '', `unknown message element ${el}`);
    }
  }
  if (stack.length !== 1 || list !== undefined) throw new ViciError('ERR_VICI_PROTOCOL', '', 'message ends inside a section or list');
  return stack[0] as ViciMessage;
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.offset >= this.buf.length;
  }
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new ViciError('ERR_VICI_PROTOCOL', '', `truncated packet: ${n} bytes needed at offset ${this.offset} of ${this.buf.length}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++] as number;
  }
  name(): string {
    const n = this.u8();
    this.need(n);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  value(): string {
    this.need(2);
    const n = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    this.need(n);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}

/**
 * Splits a byte stream into packet bodies: feed chunks as they arrive, get the complete bodies.
 * A length above VICI_MAX_PACKET is a protocol error (the stream cannot be trusted after it).
 */
export class ViciFramer {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (len > VICI_MAX_PACKET) throw new ViciError('ERR_VICI_PROTOCOL', '', `packet length ${len} exceeds ${VICI_MAX_PACKET}`);
      if (this.pending.length < 4 + len) break;
      out.push(this.pending.subarray(4, 4 + len));
      this.pending = this.pending.subarray(4 + len);
    }
    return out;
  }
}
