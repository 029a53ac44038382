import { IPAddress, type Family } from '../ip/ip-address.js';
import { MalformedInputError } from '../errors.js';
import { writeMac } from './mac-address.js';
import { AF_INET, AF_INET6, NLMSG_HDRLEN } from './netlink-constants.js';

/** One netlink message as received: the header fields and the payload after the header. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Builds a fixed family header followed by netlink attributes (struct nlattr + payload,
 * each padded to 4 bytes), written in place into one growing buffer. It can also frame whole
 * messages (beginMessage/endMessage), many after one another: a batch chunk is written this
 * way into one buffer, with no object per message.
 */
export class AttrWriter {
  private buf: Buffer;
  private len = 0;

  /**
   * `prefix` is the fixed header (ifinfomsg, rtmsg...) written first, padded to 4 bytes;
   * `capacity` the initial buffer size (it grows as needed).
   */
  constructor(prefix?: Uint8Array, capacity = 128) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 16));
    if (prefix) this.raw(prefix);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Drops what was written after `length` bytes (an attribute that did not fit). */
  truncate(length: number): this {
    if (length < this.len) this.len = length;
    return this;
  }

  /** Forgets what was written and keeps the buffer, for the next message or chunk. */
  reset(): this {
    this.len = 0;
    return this;
  }

  /** Appends bytes as they are (a fixed header or a pre-encoded body), padded to 4 bytes. */
  raw(data: Uint8Array): this {
    const at = this.len;
    this.reserve(align4(data.length));
    this.buf.set(data, at);
    return this.finish(at, data.length);
  }

  /**
   * Appends `size` zero bytes, padded to 4 (a fixed family header: rtmsg, ndmsg...), and
   * returns their offset, for setU8() and friends to fill in.
   */
  fixed(size: number): number {
    const at = this.len;
    this.reserve(align4(size));
    this.buf.fill(0, at, at + align4(size));
    this.len = at + align4(size);
    return at;
  }

  /** Writes at an offset returned by fixed() (Node's range checks apply, as for any Buffer write). */
  setU8(at: number, value: number): this {
    this.buf.writeUInt8(value, at);
    return this;
  }

  setU16(at: number, value: number): this {
    this.buf.writeUInt16LE(value, at);
    return this;
  }

  setU32(at: number, value: number): this {
    this.buf.writeUInt32LE(value, at);
    return this;
  }

  setI32(at: number, value: number): this {
    this.buf.writeInt32LE(value, at);
    return this;
  }

  /** Starts a message: an nlmsghdr (sequence number and port 0); returns its offset for endMessage(). */
  beginMessage(type: number, flags: number): number {
    const at = this.fixed(NLMSG_HDRLEN);
    this.buf.writeUInt16LE(type, at + 4);
    this.buf.writeUInt16LE(flags, at + 6);
    return at;
  }

  /** Ends the message begun at `start`: sets its length. */
  endMessage(start: number): this {
    this.buf.writeUInt32LE(this.len - start, start);
    return this;
  }

  /** Sets the sequence number of the message at `start` and adds `flags` (REQUEST, ACK) to its flags. */
  stampMessage(start: number, seq: number, flags: number): this {
    this.buf.writeUInt16LE(this.buf.readUInt16LE(start + 6) | flags, start + 6);
    this.buf.writeUInt32LE(seq >>> 0, start + 8);
    return this;
  }

  bytes(type: number, data: Uint8Array): this {
    const at = this.header(type, data.length);
    this.buf.set(data, at);
    return this.finish(at, data.length);
  }

  u8(type: number, value: number): this {
    const at = this.header(type, 1);
    this.buf.writeUInt8(value & 0xff, at);
    return this.finish(at, 1);
  }

  u32(type: number, value: number): this {
    const at = this.header(type, 4);
    this.buf.writeUInt32LE(value >>> 0, at);
    return this.finish(at, 4);
  }

  /** A 16-bit value in host byte order (NLA_U16). */
  u16(type: number, value: number): this {
    const at = this.header(type, 2);
    this.buf.writeUInt16LE(value & 0xffff, at);
    return this.finish(at, 2);
  }

  /** A 16-bit value in network byte order (ports). */
  be16(type: number, value: number): this {
    const at = this.header(type, 2);
    this.buf.writeUInt16BE(value & 0xffff, at);
    return this.finish(at, 2);
  }

  /** A 6-byte link-layer address from its text ("aa:bb:cc:dd:ee:ff"); throws AddressParseError. */
  mac(type: number, text: string): this {
    const at = this.header(type, 6);
    writeMac(text, this.buf, at);
    return this.finish(at, 6);
  }

  /** A NUL-terminated string. */
  str(type: number, value: string): this {
    return this.bytes(type, Buffer.from(`${value}\0`, 'utf8'));
  }

  flag(type: number): this {
    const at = this.header(type, 0);
    return this.finish(at, 0);
  }

  ip(type: number, ip: IPAddress): this {
    if (ip.family === 4) {
      const at = this.header(type, 4);
      this.buf.writeUInt32BE(Number(ip.value), at);
      return this.finish(at, 4);
    }
    const at = this.header(type, 16);
    this.buf.writeBigUInt64BE(ip.value >> 64n, at);
    this.buf.writeBigUInt64BE(ip.value & 0xffffffffffffffffn, at + 8);
    return this.finish(at, 16);
  }

  /** An attribute whose payload is the attributes `build` writes. */
  nested(type: number, build: (w: AttrWriter) => void): this {
    const start = this.len;
    this.len = this.header(type, 0);
    build(this);
    this.buf.writeUInt16LE(this.len - start, start);
    return this;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Writes the nlattr header for a payload of `size` bytes; returns the payload offset. */
  private header(type: number, size: number): number {
    this.reserve(NLA_HDRLEN + align4(size));
    this.buf.writeUInt16LE(NLA_HDRLEN + size, this.len);
    this.buf.writeUInt16LE(type, this.len + 2);
    return this.len + NLA_HDRLEN;
  }

  private finish(at: number, size: number): this {
    this.pad(at + size, at + align4(size));
    this.len = at + align4(size);
    return this;
  }

  private pad(from: number, to: number): void {
    for (let i = from; i < to; i++) this.buf[i] = 0;
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

/** Frames one message: nlmsghdr + body (a fixed family header and attributes, from AttrWriter). */
export function encodeMessage(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(NLMSG_HDRLEN + align4(body.length));
  buf.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(0, 12);
  body.copy(buf, NLMSG_HDRLEN);
  buf.fill(0, NLMSG_HDRLEN + body.length);
  return buf;
}

/**
 * Throws MalformedInputError unless `payload` holds the `bytes` of a fixed family header
 * (rtmsg, ifinfomsg, ...): what the kernel sends always does; a short one would otherwise be
 * a RangeError from deep inside a Buffer read.
 */
export function needHeader(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new MalformedInputError(`netlink ${what} message`, 'header', payload.length, `${payload.length} bytes, shorter than its ${bytes}-byte header`);
}

/** Splits a received datagram into its messages; stops at the first malformed header. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Parses a run of attributes into type -> payload (last one wins; nested flags masked off). */
export function parseAttrs(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

export function familyOf(ip: IPAddress): number {
  return ip.family === 4 ? AF_INET : AF_INET6;
}

export function ipFamilyOf(af: number): Family | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

export function ipToBytes(ip: IPAddress): Buffer {
  if (ip.family === 4) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(Number(ip.value), 0);
    return b;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(ip.value >> 64n, 0);
  b.writeBigUInt64BE(ip.value & 0xffffffffffffffffn, 8);
  return b;
}

/** An address attribute of 4 or 16 bytes, or undefined for any other length. */
export function ipFromBytes(b: Buffer | undefined): IPAddress | undefined {
  if (!b) return undefined;
  if (b.length === 4) return IPAddress.of(4, BigInt(b.readUInt32BE(0)));
  if (b.length === 16) return IPAddress.of(6, (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8));
  return undefined;
}

export function readU32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

export function readU8(b: Buffer | undefined): number | undefined {
  return b && b.length >= 1 ? b.readUInt8(0) : undefined;
}

/** A NUL-terminated string attribute. */
export function readString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}
