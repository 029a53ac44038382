import { IPAddress } from '../ip/ip-address.js';
import { formatMac } from './mac-address.js';

const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;
const EMPTY = Buffer.alloc(0);

/**
 * Where each attribute of one run lies, for typed reads without a Map or a Buffer per
 * attribute (what parseAttrs gives). Meant to be reused across the messages of a dump:
 * each scan() replaces what the last one found. Last attribute of a type wins; nested flags
 * are masked off; types above `maxType` are skipped.
 */
export class AttrIndex {
  private buf: Buffer = EMPTY;
  /** Payload offset of each type in `buf`, -1 when absent. */
  private readonly at: Int32Array;
  private readonly len: Uint16Array;

  constructor(private readonly maxType: number) {
    this.at = new Int32Array(maxType + 1).fill(-1);
    this.len = new Uint16Array(maxType + 1);
  }

  /** Indexes the attributes of `buf` from `offset` on; stops at the first malformed one. */
  scan(buf: Buffer, offset: number): this {
    this.buf = buf;
    this.at.fill(-1);
    let off = offset;
    while (off + NLA_HDRLEN <= buf.length) {
      const len = buf.readUInt16LE(off);
      if (len < NLA_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
      if (type <= this.maxType) {
        this.at[type] = off + NLA_HDRLEN;
        this.len[type] = len - NLA_HDRLEN;
      }
      off += (len + 3) & ~3;
    }
    return this;
  }

  /** A u32 attribute (host order), or undefined when absent or shorter than 4 bytes. */
  u32(type: number): number | undefined {
    const at = this.offset(type);
    return at >= 0 && (this.len[type] as number) >= 4 ? this.buf.readUInt32LE(at) : undefined;
  }

  /** An address attribute of 4 or 16 bytes, or undefined for any other length. */
  ip(type: number): IPAddress | undefined {
    const at = this.offset(type);
    if (at < 0) return undefined;
    const len = this.len[type] as number;
    if (len === 4) return IPAddress.of(4, BigInt(this.buf.readUInt32BE(at)));
    if (len === 16) return IPAddress.of(6, (this.buf.readBigUInt64BE(at) << 64n) | this.buf.readBigUInt64BE(at + 8));
    return undefined;
  }

  /** A link-layer address as `ip` prints it, or undefined when absent or empty. */
  mac(type: number): string | undefined {
    const at = this.offset(type);
    const len = this.len[type] as number;
    return at >= 0 && len > 0 ? formatMac(this.buf, at, at + len) : undefined;
  }

  private offset(type: number): number {
    return type <= this.maxType ? (this.at[type] as number) : -1;
  }
}
