import { AddressParseError } from '../errors.js';
import { isIPv4Text, isIPv6Text } from './ip-syntax.js';

export type Family = 4 | 6;

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** The largest value per family. */
const FAMILY_MAX: Record<Family, bigint> = { 4: 0xffffffffn, 6: (1n << 128n) - 1n };

/** An immutable IPv4 or IPv6 address held as a bigint. */
export class IPAddress {
  private constructor(
    readonly family: Family,
    readonly value: bigint,
  ) {}

  static of(family: Family, value: bigint): IPAddress {
    if (value < 0n || value > FAMILY_MAX[family]) throw new RangeError(`IPv${family} value out of range: ${value}`);
    return new IPAddress(family, value);
  }

  static parse(text: string): IPAddress {
    // The common case first: a bare dotted quad, read with one regex, without trimming or splitting.
    const quad = DOTTED_QUAD_RE.exec(text);
    if (quad) return new IPAddress(4, BigInt(quadValue(quad)));
    const s = text.trim();
    if (isIPv4Text(s)) return new IPAddress(4, parseV4(s));
    if (isIPv6Text(s)) return new IPAddress(6, parseV6(s, text));
    throw new AddressParseError(text, 'not an IPv4 or IPv6 address');
  }

  /** parse() that returns undefined instead of throwing. */
  static tryParse(text: string): IPAddress | undefined {
    try {
      return IPAddress.parse(text);
    } catch {
      return undefined;
    }
  }

  get bits(): number {
    return FAMILY_BITS[this.family];
  }

  add(n: bigint): IPAddress {
    return IPAddress.of(this.family, this.value + n);
  }

  equals(other: IPAddress | undefined): boolean {
    return other !== undefined && other.family === this.family && other.value === this.value;
  }

  compare(other: IPAddress): number {
    if (this.family !== other.family) return this.family - other.family;
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  isUnspecified(): boolean {
    return this.value === 0n;
  }

  isLoopback(): boolean {
    return this.family === 4 ? this.value >> 24n === 127n : this.value === 1n;
  }

  isLinkLocal(): boolean {
    return this.family === 4 ? this.value >> 16n === 0xa9fen : this.value >> 118n === 0x3fan;
  }

  toString(): string {
    return this.family === 4 ? formatV4(this.value) : formatV6(this.value);
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Four capture groups: the octets of a dotted quad as node:net's isIPv4 (and ip-syntax.ts) takes them (0..255, no leading zeros). */
export const DOTTED_QUAD = [1, 2, 3, 4].map(() => '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)').join('\\.');

const DOTTED_QUAD_RE = new RegExp(`^${DOTTED_QUAD}$`);

/** The value of a dotted quad that m[first..first+3] captured with DOTTED_QUAD. */
export function quadValue(m: RegExpExecArray, first = 1): number {
  return ((Number(m[first]) * 256 + Number(m[first + 1])) * 256 + Number(m[first + 2])) * 256 + Number(m[first + 3]);
}

function parseV4(s: string): bigint {
  const quad = DOTTED_QUAD_RE.exec(s);
  if (quad) return BigInt(quadValue(quad));
  let v = 0n;
  for (const part of s.split('.')) v = (v << 8n) | BigInt(Number(part));
  return v;
}

function parseV6(s: string, original: string): bigint {
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new AddressParseError(original, 'more than one "::"');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  const groups = halves.length === 2 ? [...head, ...Array<string>(missing).fill('0'), ...rest] : head;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

function formatV4(v: bigint): string {
  const n = Number(v);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * RFC 5952 text: lower case, longest run (>1) of zero groups compressed to "::", and
 * IPv4-mapped addresses with a dotted quad ("::ffff:192.0.2.1", section 5).
 */
function formatV6(v: bigint): string {
  if (v >> 32n === 0xffffn) return `::ffff:${formatV4(v & 0xffffffffn)}`;
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}
