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
    return new IPNetwork(IPAddress.of(ip.family, ip.value & maskOf(ip.family, prefixLength)), prefixLength);
  }

  /** Parses "10.244.0.0/16" or "fc00::/48". With `strict`, host bits must be zero. */
  static parse(text: string, opts: { strict?: boolean } = {}): IPNetwork {
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

export function maskOf(family: Family, prefixLength: number): bigint {
  const bits = FAMILY_BITS[family];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefixLength)) - 1n);
}
