import { AddressParseError } from '../errors.js';
import { DOTTED_QUAD, FAMILY_BITS, IPAddress, quadValue, type Family } from './ip-address.js';

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

/** Every mask of each family, by prefix length, computed once. */
const MASKS: Record<Family, readonly bigint[]> = {
  4: Array.from({ length: 33 }, (_, len) => computeMask(4, len)),
  6: Array.from({ length: 129 }, (_, len) => computeMask(6, len)),
};

export function maskOf(family: Family, prefixLength: number): bigint {
  return MASKS[family][prefixLength] ?? computeMask(family, prefixLength);
}

const V4_PREFIX_RE = new RegExp(`^${DOTTED_QUAD}/(\\d{1,3})$`);

/**
 * IPNetwork.parse's common case, a bare "a.b.c.d/len" (len 0..32), read with one regex, without
 * trimming or string copies. Undefined for anything else, including every input parse()
 * rejects, so that the general path decides (and words the error) as before.
 */
function parseV4Prefix(text: string, strict: boolean): IPNetwork | undefined {
  const m = V4_PREFIX_RE.exec(text);
  if (!m) return undefined;
  const len = Number(m[5]);
  if (len > 32) return undefined;
  const ip = IPAddress.of(4, BigInt(quadValue(m)));
  const net = IPNetwork.of(ip, len);
  return strict && net.ip !== ip ? undefined : net;
}
