import { MalformedInputError, errorMessage } from '../errors.js';
import { DOTTED_QUAD, IPAddress, quadValue } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';

/**
 * What a host publishes with its lease (flannel's LeaseAttrs). Backend data is kept as the
 * parsed JSON value so that it is written back exactly as read.
 */
export interface LeaseAttrs {
  readonly publicIP: IPAddress | undefined;
  readonly publicIPv6: IPAddress | undefined;
  readonly backendType: string | undefined;
  readonly backendData: unknown;
  readonly backendV6Data: unknown;
}

/** A host's subnet lease: an IPv4 subnet, an IPv6 subnet, or both. */
export interface Lease {
  readonly subnet: IPNetwork | undefined;
  readonly ipv6Subnet: IPNetwork | undefined;
  readonly attrs: LeaseAttrs;
  /** Absolute expiry; undefined for a reservation (a key without a TTL). */
  readonly expiration: Date | undefined;
  /** Store-specific: the etcd lease id bound to the key, and the revision it was read at. */
  readonly storeLeaseId?: string | undefined;
  readonly revision?: number | undefined;
}

export type LeaseEventType = 'added' | 'removed';

export interface LeaseEvent {
  readonly type: LeaseEventType;
  readonly lease: Lease;
}

const V4_UNSPECIFIED = IPNetwork.parse('0.0.0.0/0');

/**
 * The etcd key suffix of a lease, as flannel makes it: "10.244.3.0-24", dual-stack
 * "10.244.3.0-24&fc00:0:0:3::-64", IPv6-only "0.0.0.0-0&fc00:0:0:3::-64".
 */
export function subnetKey(subnet: IPNetwork | undefined, ipv6Subnet: IPNetwork | undefined): string {
  const v4 = subnet ?? V4_UNSPECIFIED;
  const head = `${v4.ip.toString()}-${v4.prefixLength}`;
  return ipv6Subnet ? `${head}&${ipv6Subnet.ip.toString()}-${ipv6Subnet.prefixLength}` : head;
}

const KEY_RE = /(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/**
 * Inverse of subnetKey(); undefined when the text is not a subnet key. Read as flannel's
 * ParseSubnetKey reads it (a key at the end of other text, lengths with leading zeros). With
 * `exact`, only the one text subnetKey() makes for those subnets is a key: "10.244.5.0-024"
 * would otherwise be a second etcd key for 10.244.5.0/24, whose value replaces the real
 * holder's (its public IP, VTEP MAC) in every peer's view.
 */
export function parseSubnetKey(text: string, opts: { exact?: boolean } = {}): { subnet: IPNetwork | undefined; ipv6Subnet: IPNetwork | undefined } | undefined {
  const v4Only = parseV4Key(text);
  if (v4Only !== null) return v4Only && (!opts.exact || subnetKey(v4Only.subnet, undefined) === text) ? v4Only : undefined;
  const m = KEY_RE.exec(text);
  if (!m) return undefined;
  try {
    const v4 = IPNetwork.parse(`${m[1]}/${m[2]}`, { strict: true });
    const v6 = m[3] !== undefined ? IPNetwork.parse(`${m[3]}/${m[4]}`, { strict: true }) : undefined;
    if (v4.family !== 4 || (v6 && v6.family !== 6)) return undefined;
    if (opts.exact && subnetKey(v4, v6) !== text) return undefined;
    return { subnet: v4.prefixLength === 0 && v6 ? undefined : v4, ipv6Subnet: v6 };
  } catch {
    return undefined;
  }
}

/** A key that is exactly "<IPv4>-<len>": KEY_RE would match it whole. */
const V4_KEY_RE = new RegExp(`^${DOTTED_QUAD}-(\\d{1,3})$`);

/**
 * parseSubnetKey's common case, an IPv4-only key and nothing else around it, read with one
 * regex; null for any other text (KEY_RE then decides, as it may match a tail of it).
 */
function parseV4Key(text: string): { subnet: IPNetwork; ipv6Subnet: undefined } | undefined | null {
  const m = V4_KEY_RE.exec(text);
  if (!m) return null;
  const len = Number(m[5]);
  // The text has KEY_RE's shape, so a wrong length or host bits make it no subnet key.
  if (len > 32) return undefined;
  const ip = IPAddress.of(4, BigInt(quadValue(m)));
  const subnet = IPNetwork.of(ip, len);
  // Host bits set: IPNetwork.of() masked them into a new address.
  return subnet.ip === ip ? { subnet, ipv6Subnet: undefined } : undefined;
}

/** The identity of a lease for diffing: its subnets. */
export function leaseKey(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): string {
  return subnetKey(lease.subnet, lease.ipv6Subnet);
}

/** A lease's identity as a map key: see leaseId(). */
export type LeaseId = string | number;

/**
 * The identity of a lease as a compact map key: a number for an IPv4-only lease (its network
 * address and prefix length: no string per lease in maps of thousands), leaseKey() otherwise.
 * leaseId(a) === leaseId(b) exactly when leaseKey(a) === leaseKey(b).
 */
export function leaseId(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): LeaseId {
  if (lease.ipv6Subnet !== undefined) return leaseKey(lease);
  // No subnet at all has the key of 0.0.0.0/0, as in leaseKey().
  const v4 = lease.subnet;
  return v4 === undefined ? 0 : Number(v4.ip.value) * 64 + v4.prefixLength;
}

/** leaseKey(a) === leaseKey(b), without building the strings (address text is one-to-one). */
export function sameLeaseKey(a: Pick<Lease, 'subnet' | 'ipv6Subnet'>, b: Pick<Lease, 'subnet' | 'ipv6Subnet'>): boolean {
  if (!(a.subnet ?? V4_UNSPECIFIED).equals(b.subnet ?? V4_UNSPECIFIED)) return false;
  return a.ipv6Subnet === undefined ? b.ipv6Subnet === undefined : a.ipv6Subnet.equals(b.ipv6Subnet);
}

/**
 * LeaseAttrs JSON exactly as Go flannel writes it: compact, this field order, omitempty, and
 * Go's encoding/json escaping of <, >, &, U+2028 and U+2029 inside strings.
 */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  let s = `{"PublicIP":${goJSON(attrs.publicIP?.toString() ?? '0.0.0.0')},"PublicIPv6":${
    attrs.publicIPv6 ? goJSON(attrs.publicIPv6.toString()) : 'null'
  }`;
  if (attrs.backendType) s += `,"BackendType":${goJSON(attrs.backendType)}`;
  if (attrs.backendData !== undefined && attrs.backendData !== null) s += `,"BackendData":${goJSON(attrs.backendData)}`;
  if (attrs.backendV6Data !== undefined && attrs.backendV6Data !== null) {
    s += `,"BackendV6Data":${goJSON(attrs.backendV6Data)}`;
  }
  return `${s}}`;
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** JSON.stringify plus Go's HTML-safe escapes; those characters only ever occur inside strings. */
function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

/**
 * Parses LeaseAttrs leniently: unknown fields ignored, bad or wrong-family addresses dropped.
 * Throws MalformedInputError when the text is not a JSON object.
 */
export function decodeLeaseAttrs(text: string): LeaseAttrs {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new MalformedInputError('lease value', '(document)', text, `malformed JSON: ${errorMessage(err)}`, { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new MalformedInputError('lease value', '(document)', text, 'not a JSON object');
  return {
    publicIP: publicAddress(raw['PublicIP'], 4),
    publicIPv6: publicAddress(raw['PublicIPv6'], 6),
    backendType: typeof raw['BackendType'] === 'string' && raw['BackendType'] !== '' ? raw['BackendType'] : undefined,
    backendData: raw['BackendData'] ?? undefined,
    backendV6Data: raw['BackendV6Data'] ?? undefined,
  };
}

/** A public IP field's address, if it is one of the family and not unspecified. */
function publicAddress(v: unknown, family: 4 | 6): IPAddress | undefined {
  if (typeof v !== 'string') return undefined;
  const a = IPAddress.tryParse(v);
  return a && a.family === family && !a.isUnspecified() ? a : undefined;
}

export function describeLease(lease: Lease): string {
  const nets = [lease.subnet, lease.ipv6Subnet].filter((n) => n !== undefined).map((n) => n.toString());
  return nets.join(' + ');
}
