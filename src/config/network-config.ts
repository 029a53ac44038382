import { ConfigError, errorMessage } from '../errors.js';
import { IPAddress, type Family } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';

/**
 * flannel's network configuration (etcd `<prefix>/config` or net-conf.json), validated and
 * with flannel's defaults applied. Field names in errors are the JSON field names.
 */
export interface NetworkConfig {
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  readonly network: IPNetwork | undefined;
  readonly subnetLen: number;
  readonly subnetMin: IPAddress | undefined;
  readonly subnetMax: IPAddress | undefined;
  readonly ipv6Network: IPNetwork | undefined;
  readonly ipv6SubnetLen: number;
  readonly ipv6SubnetMin: IPAddress | undefined;
  readonly ipv6SubnetMax: IPAddress | undefined;
  readonly enableNFTables: boolean;
  /** `Backend.Type`, defaulting to vxlan. */
  readonly backendType: string;
  /** The whole `Backend` object, for the backend to read its own fields from. */
  readonly backend: Readonly<Record<string, unknown>>;
}

const KNOWN_FIELDS = new Set([
  'Network',
  'SubnetLen',
  'SubnetMin',
  'SubnetMax',
  'EnableIPv4',
  'EnableIPv6',
  'IPv6Network',
  'IPv6SubnetLen',
  'IPv6SubnetMin',
  'IPv6SubnetMax',
  'EnableNFTables',
  'Backend',
]);

export const DEFAULT_BACKEND = 'vxlan';

export interface ParseOptions {
  /** Backend types this build supports; others are a ConfigError on `Backend.Type`. */
  knownBackends?: readonly string[];
  /** Whether to compute and check subnet ranges (the etcd manager needs them; kube does not). */
  checkSubnetRanges?: boolean;
}

/** Parses and validates network config JSON text. Throws ConfigError naming the field and value. */
export function parseNetworkConfig(text: string, opts: ParseOptions = {}): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('(document)', truncate(text), `malformed JSON: ${errorMessage(err)}`, { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('(document)', truncate(text), 'must be a JSON object');
  }
  return validateNetworkConfig(raw as Record<string, unknown>, opts);
}

export function validateNetworkConfig(raw: Record<string, unknown>, opts: ParseOptions = {}): NetworkConfig {
  const enableIPv4 = optBool(raw, 'EnableIPv4', true);
  const enableIPv6 = optBool(raw, 'EnableIPv6', false);
  const enableNFTables = optBool(raw, 'EnableNFTables', false);
  if (!enableIPv4 && !enableIPv6) {
    throw new ConfigError('EnableIPv4', false, 'at least one of EnableIPv4 and EnableIPv6 must be true');
  }
  const backend = parseBackend(raw['Backend'], opts.knownBackends);
  const check = opts.checkSubnetRanges ?? true;

  const v4 = parseFamily(raw, 4, {
    enabled: enableIPv4,
    check,
    netField: 'Network',
    lenField: 'SubnetLen',
    minField: 'SubnetMin',
    maxField: 'SubnetMax',
  });
  const v6 = parseFamily(raw, 6, {
    enabled: enableIPv6,
    check,
    netField: 'IPv6Network',
    lenField: 'IPv6SubnetLen',
    minField: 'IPv6SubnetMin',
    maxField: 'IPv6SubnetMax',
  });

  return Object.freeze({
    enableIPv4,
    enableIPv6,
    network: v4.network,
    subnetLen: v4.subnetLen,
    subnetMin: v4.min,
    subnetMax: v4.max,
    ipv6Network: v6.network,
    ipv6SubnetLen: v6.subnetLen,
    ipv6SubnetMin: v6.min,
    ipv6SubnetMax: v6.max,
    enableNFTables,
    backendType: backend.type,
    backend: Object.freeze(backend.raw),
  });
}

/** Fields of the document that flannel does not know; the caller may warn about them. */
export function unknownConfigFields(raw: Record<string, unknown>): string[] {
  return Object.keys(raw).filter((k) => !KNOWN_FIELDS.has(k));
}

interface FamilyFields {
  enabled: boolean;
  check: boolean;
  netField: string;
  lenField: string;
  minField: string;
  maxField: string;
}

interface FamilyConfig {
  network: IPNetwork | undefined;
  subnetLen: number;
  min: IPAddress | undefined;
  max: IPAddress | undefined;
}

function parseFamily(raw: Record<string, unknown>, family: Family, f: FamilyFields): FamilyConfig {
  const bits = family === 4 ? 32 : 128;
  const network = optNetwork(raw, f.netField, family);
  let subnetLen = optInt(raw, f.lenField, 0);
  const min = optAddress(raw, f.minField, family);
  const max = optAddress(raw, f.maxField, family);
  if (!f.enabled) return { network, subnetLen, min, max };
  if (!network) {
    throw new ConfigError(f.netField, raw[f.netField], `required when ${family === 4 ? 'EnableIPv4' : 'EnableIPv6'} is true`);
  }
  if (!f.check) return { network, subnetLen, min, max };

  // flannel: a subnet must leave room for a tunnel and a bridge address (at least /30, /126),
  // and the network must hold at least four subnets since the first one is never handed out.
  const maxLen = bits - 2;
  const smallestNet = bits - 4;
  const defaultLen = family === 4 ? 24 : 64;
  if (subnetLen !== 0) {
    if (subnetLen < 0 || subnetLen > maxLen) {
      throw new ConfigError(f.lenField, subnetLen, `must be at most ${maxLen}`);
    }
    if (subnetLen < network.prefixLength + 2) {
      throw new ConfigError(
        f.lenField,
        subnetLen,
        `must be at least ${network.prefixLength + 2} so that ${f.netField} ${network.toString()} holds four subnets`,
      );
    }
  } else if (network.prefixLength > smallestNet) {
    throw new ConfigError(f.netField, network.toString(), `too small: the smallest useful prefix is /${smallestNet}`);
  } else {
    subnetLen = network.prefixLength <= defaultLen - 2 ? defaultLen : network.prefixLength + 2;
  }

  const size = 1n << BigInt(bits - subnetLen);
  const lo = min ?? network.ip.add(size);
  // The last subnet: computed from the network's last address, not from network.next(), which
  // does not exist for a network at the top of the address space (255.255.0.0/16, ffff::/16).
  const hi = max ?? network.last.add(1n - size);
  for (const [field, value, given] of [
    [f.minField, lo, min],
    [f.maxField, hi, max],
  ] as const) {
    if (given && !network.contains(value)) {
      throw new ConfigError(field, value.toString(), `outside ${f.netField} ${network.toString()}`);
    }
    if (value.value % size !== 0n) {
      throw new ConfigError(field, value.toString(), `not on a /${subnetLen} boundary (${f.lenField})`);
    }
  }
  if (lo.compare(hi) > 0) {
    throw new ConfigError(f.minField, lo.toString(), `greater than ${f.maxField} ${hi.toString()}`);
  }
  return { network, subnetLen, min: lo, max: hi };
}

function parseBackend(value: unknown, known: readonly string[] | undefined): { type: string; raw: Record<string, unknown> } {
  if (value === undefined || value === null) return { type: DEFAULT_BACKEND, raw: { Type: DEFAULT_BACKEND } };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('Backend', value, 'must be an object such as {"Type": "vxlan"}');
  }
  const raw = { ...(value as Record<string, unknown>) };
  const given = raw['Type'] ?? DEFAULT_BACKEND;
  if (typeof given !== 'string' || given === '') throw new ConfigError('Backend.Type', given, 'must be a non-empty string');
  // flannel looks backends up by the lower-cased type ("VXLAN" is vxlan).
  const type = given.toLowerCase();
  if (known && !known.includes(type)) {
    throw new ConfigError('Backend.Type', given, `unknown backend type (supported: ${known.join(', ')})`);
  }
  raw['Type'] = type;
  return { type, raw };
}

function optBool(raw: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = raw[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(field, v, 'must be true or false');
  return v;
}

function optInt(raw: Record<string, unknown>, field: string, dflt: number): number {
  const v = raw[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ConfigError(field, v, 'must be a non-negative integer');
  }
  return v;
}

function optNetwork(raw: Record<string, unknown>, field: string, family: Family): IPNetwork | undefined {
  const v = raw[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(field, v, 'must be a CIDR string');
  let net: IPNetwork;
  try {
    net = IPNetwork.parse(v);
  } catch (err) {
    throw new ConfigError(field, v, `invalid CIDR: ${errorMessage(err)}`, { cause: err });
  }
  if (net.family !== family) throw new ConfigError(field, v, `must be an IPv${family} CIDR`);
  return net;
}

function optAddress(raw: Record<string, unknown>, field: string, family: Family): IPAddress | undefined {
  const v = raw[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(field, v, 'must be an address string');
  const ip = IPAddress.tryParse(v);
  if (!ip) throw new ConfigError(field, v, 'not an IP address');
  if (ip.family !== family) throw new ConfigError(field, v, `must be an IPv${family} address`);
  // flannel treats the zero address as "not set" and applies the default.
  return ip.isUnspecified() ? undefined : ip;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
