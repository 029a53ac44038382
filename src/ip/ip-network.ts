import { AddressParseError } from '../errors.js';
import { FAMILY_BITS, IPAddress, type Family } from './ip-address.js';

/** An immutable prefix (address + length). The address is always masked to the prefix. */
export class IPNetwork {
  private constructor(
    readonly ip: IPAddress,
    readonly prefixLength: number,
  ) {}

  static of(ip: IPAddress, prefixLength: number): IPNetwork {
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > ip.bits) {
      throw new RangeError(`prefix length ${prefixLength} out of range for IPv${ip.family}`);
    }
    const masked = ip.value & maskOf(ip.family, prefixLength);
    // IPAddress is immutable: an address that is already the network address is kept.
    return new IPNetwork(masked === ip.value ? ip : IPAddress.of(ip.family, masked), prefixLength);
  }

  /** Parses "10.244.0.0/16" or "fc00::/48". With `strict`, host bits must be zero. */
  static parse(text: string, opts: { strict?: boolean } = {}): IPNetwork {
    const fast = parseV4Prefix(text, Boolean(opts.strict));
    if (fast) return fast;
    const s = text.trim();
    const slash = s.indexOf('/');
    if (slash < 0) throw new AddressParseError(text, 'missing "/prefix-length"');
    const ip = IPAddress.tryParse(s.slice(0, slash));
    if (!ip) throw new AddressParseError(text, `${JSON.stringify(s.slice(0, slash))} is not an IPv4 or IPv6 address`);
    const lenText = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > ip.bits) {
      throw new AddressParseError(text, `prefix length must be 0..${ip.bits}`);
    }
    const net = IPNetwork.of(ip, Number(lenText));
    if (opts.strict && !net.ip.equals(ip)) {
      throw new AddressParseError(text, `host bits set (network address is ${net.ip.toString()})`);
    }
    return net;
  }

  get family(): Family {
    return this.ip.family;
  }

  /** Number of addresses in the prefix. */
  get size(): bigint {
    return 1n << BigInt(this.ip.bits - this.prefixLength);
  }

  /** The last address of the prefix (broadcast for IPv4). */
  get last(): IPAddress {
    return IPAddress.of(this.family, this.ip.value + this.size - 1n);
  }

  /** The first address after the network address (the gateway flannel writes into subnet.env). */
  get firstHost(): IPAddress {
    return this.ip.add(1n);
  }

  contains(ip: IPAddress): boolean {
    return ip.family === this.family && (ip.value & maskOf(this.family, this.prefixLength)) === this.ip.value;
  }

  /** True when `other` lies entirely inside this prefix. */
  covers(other: IPNetwork): boolean {
    return other.prefixLength >= this.prefixLength && this.contains(other.ip);
  }

  overlaps(other: IPNetwork): boolean {
    return this.covers(other) || other.covers(this);
  }

  /** The prefix of the same length right after this one. */
  next(): IPNetwork {
    return IPNetwork.of(this.ip.add(this.size), this.prefixLength);
  }

  equals(other: IPNetwork | undefined): boolean {
    return other !== undefined && other.prefixLength === this.prefixLength && other.ip.equals(this.ip);
  }

  toString(): string {
    return `${this.ip.toString()}/${this.prefixLength}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function computeMask(family: Family, prefixLength: number): bigint {
  const bits = FAMILY_BITS[family];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefixLength)) - 1n);
}

/**
 * The masks of each family by prefix length, each computed when first asked for (not all 162
 * at load: the CNI plugin, which starts once per pod verb, asks for two).
 */
const MASKS: Record<Family, bigint[]> = { 4: [], 6: [] };

export function maskOf(family: Family, prefixLength: number): bigint {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > FAMILY_BITS[family]) return computeMask(family, prefixLength);
  return (MASKS[family][prefixLength] ??= computeMask(family, prefixLength));
}

/**
 * The octet (0..255 without a leading zero, as DOTTED_QUAD takes it) at text[i..] followed by
 * `sep`, as (index after sep) * 256 + value; -1 when there is none.
 */
function octetAt(text: string, i: number, sep: number): number {
  let v = 0;
  let n = 0;
  for (; n < 3 && i + n < text.length; n++) {
    const d = text.charCodeAt(i + n) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  if (n === 0 || v > 255 || (n > 1 && text.charCodeAt(i) === 48) || text.charCodeAt(i + n) !== sep) return -1;
  return (i + n + 1) * 256 + v;
}

/**
 * IPNetwork.parse's common case, a bare "a.b.c.d/len" (DOTTED_QUAD, '/', 1-3 digits, len 0..32),
 * read character by character: no trimming, no string copies, and no regex to compile (the CNI
 * plugin parses two prefixes per ADD, and compiling the regex was most of that). Undefined for
 * anything else, including every input parse() rejects, so that the general path decides (and
 * words the error) as before.
 */
function parseV4Prefix(text: string, strict: boolean): IPNetwork | undefined {
  let value = 0;
  let i = 0;
  for (let k = 0; k < 4; k++) {
    const o = octetAt(text, i, k < 3 ? 46 /* . */ : 47 /* / */);
    if (o < 0) return undefined;
    value = value * 256 + (o & 255);
    i = o >> 8;
  }
  const digits = text.length - i;
  if (digits < 1 || digits > 3) return undefined;
  let len = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    len = len * 10 + d;
  }
  if (len > 32) return undefined;
  const ip = IPAddress.of(4, BigInt(value));
  const net = IPNetwork.of(ip, len);
  return strict && net.ip !== ip ? undefined : net;
}
