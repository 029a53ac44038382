import type { NetworkConfig } from '../config/network-config.js';
import { IPAddress, type Family } from '../ip/ip-address.js';
import { IPNetwork, maskOf } from '../ip/ip-network.js';
import type { Lease } from '../lease/lease.js';

/** An IPv4 subnet, an IPv6 subnet, or both. */
export interface SubnetPair {
  readonly subnet?: IPNetwork | undefined;
  readonly ipv6Subnet?: IPNetwork | undefined;
}

/** How many free subnets flannel picks among (at random), counting from SubnetMin. */
export const FREE_CANDIDATES = 100;

/** The subnets already held or reserved, per family, for O(1) "is it free" checks. */
export class TakenSubnets {
  /** Network addresses of the entries of length subnetLen (whatever their family, as before). */
  private readonly exact = new Set<bigint>();
  private readonly odd: IPNetwork[] = [];

  constructor(
    private readonly subnetLen: number,
    nets: Iterable<IPNetwork | undefined>,
  ) {
    for (const n of nets) {
      if (!n) continue;
      if (n.prefixLength === subnetLen) this.exact.add(n.ip.value);
      else this.odd.push(n);
    }
  }

  has(net: IPNetwork): boolean {
    return this.hasAt(net.family, net.ip.value, net.prefixLength);
  }

  /** has() for the prefix `value`/`prefixLength` of `family` (value already masked), without building it. */
  hasAt(family: Family, value: bigint, prefixLength: number): boolean {
    if (prefixLength === this.subnetLen && this.exact.has(value)) return true;
    for (const o of this.odd) {
      if (o.family !== family) continue;
      // One covers the other: the shorter prefix's mask gives both the same network address.
      const shorter = Math.min(o.prefixLength, prefixLength);
      const mask = maskOf(family, shorter);
      if ((o.ip.value & mask) === (value & mask)) return true;
    }
    return false;
  }
}

/**
 * Up to `limit` free subnets of `subnetLen` in [min, max], in order. Scans at most
 * limit + (number taken) + 1 positions, so thousands of leases cost microseconds; the scan
 * walks plain numbers and builds an IPNetwork only for the free subnets it returns.
 */
export function freeSubnets(
  min: IPAddress,
  max: IPAddress,
  subnetLen: number,
  taken: TakenSubnets,
  limit = FREE_CANDIDATES,
  maxScan = 1_000_000,
): IPNetwork[] {
  const out: IPNetwork[] = [];
  const first = IPNetwork.of(min, subnetLen);
  const family = first.family;
  const size = first.size;
  const top = maskOf(family, first.ip.bits);
  // IPAddress.compare(max): another family orders by family number.
  const cmpMax = (v: bigint) => (family !== max.family ? family - max.family : v < max.value ? -1 : v > max.value ? 1 : 0);
  let v = first.ip.value;
  for (let scanned = 0; scanned < maxScan && out.length < limit && cmpMax(v) <= 0; scanned++) {
    if (!taken.hasAt(family, v, subnetLen)) out.push(v === first.ip.value ? first : IPNetwork.of(IPAddress.of(family, v), subnetLen));
    if (cmpMax(v) >= 0) break;
    v += size;
    // Past the end of the address space: the RangeError IPNetwork.next() throws.
    if (v > top) IPAddress.of(family, v);
  }
  return out;
}

/** Picks a random free subnet per enabled family; undefined when a family has none left. */
export function pickFreeSubnets(
  config: NetworkConfig,
  leases: readonly Lease[],
  random: () => number = Math.random,
): { subnet?: IPNetwork | undefined; ipv6Subnet?: IPNetwork | undefined; exhausted?: 4 | 6 } {
  const pick = (nets: IPNetwork[]) => nets[Math.floor(random() * nets.length)];
  let subnet: IPNetwork | undefined;
  let ipv6Subnet: IPNetwork | undefined;
  if (config.enableIPv4 && config.subnetMin && config.subnetMax) {
    const taken = new TakenSubnets(config.subnetLen, leases.map((l) => l.subnet));
    subnet = pick(freeSubnets(config.subnetMin, config.subnetMax, config.subnetLen, taken));
    if (!subnet) return { exhausted: 4 };
  }
  if (config.enableIPv6 && config.ipv6SubnetMin && config.ipv6SubnetMax) {
    const taken = new TakenSubnets(config.ipv6SubnetLen, leases.map((l) => l.ipv6Subnet));
    ipv6Subnet = pick(freeSubnets(config.ipv6SubnetMin, config.ipv6SubnetMax, config.ipv6SubnetLen, taken));
    if (!ipv6Subnet) return { exhausted: 6 };
  }
  return { subnet, ipv6Subnet };
}

/**
 * Whether a lease's subnets are the shape this config hands out, as flannel's
 * isSubnetConfigCompat: right family, inside the network, of SubnetLen, and in
 * [SubnetMin, SubnetMax] (when the config has ranges; the kube manager's does not).
 */
export function leaseFitsConfig(config: NetworkConfig, lease: SubnetPair): boolean {
  const fits = (
    sn: IPNetwork | undefined,
    network: IPNetwork | undefined,
    len: number,
    min: IPAddress | undefined,
    max: IPAddress | undefined,
  ) =>
    sn !== undefined &&
    network !== undefined &&
    network.covers(sn) &&
    (len === 0 || sn.prefixLength === len) &&
    (min === undefined || sn.ip.compare(min) >= 0) &&
    (max === undefined || sn.ip.compare(max) <= 0);
  if (config.enableIPv4) {
    if (!fits(lease.subnet, config.network, config.subnetLen, config.subnetMin, config.subnetMax)) return false;
  } else if (lease.subnet) {
    return false;
  }
  if (config.enableIPv6) {
    if (!fits(lease.ipv6Subnet, config.ipv6Network, config.ipv6SubnetLen, config.ipv6SubnetMin, config.ipv6SubnetMax)) {
      return false;
    }
  } else if (lease.ipv6Subnet) {
    return false;
  }
  return true;
}

/** Whether a preferred subnet pair is usable: right shape, inside [SubnetMin, SubnetMax], not taken. */
export function preferredIsFree(
  config: NetworkConfig,
  preferred: SubnetPair,
  leases: readonly Lease[],
): boolean {
  if (!leaseFitsConfig(config, preferred)) return false;
  if (preferred.subnet && preferred.subnet.prefixLength !== config.subnetLen) return false;
  if (preferred.ipv6Subnet && preferred.ipv6Subnet.prefixLength !== config.ipv6SubnetLen) return false;
  // One pass asking what TakenSubnets.has() would answer, without building the sets for one lookup.
  const { subnet, ipv6Subnet } = preferred;
  return !leases.some(
    (l) => (subnet !== undefined && blocks(l.subnet, config.subnetLen, subnet)) || (ipv6Subnet !== undefined && blocks(l.ipv6Subnet, config.ipv6SubnetLen, ipv6Subnet)),
  );
}

/** Whether a held subnet `held` makes `net` taken, as TakenSubnets(subnetLen, [held]).has(net). */
function blocks(held: IPNetwork | undefined, subnetLen: number, net: IPNetwork): boolean {
  if (held === undefined) return false;
  if (held.prefixLength === subnetLen) return net.prefixLength === subnetLen && held.ip.value === net.ip.value;
  return held.overlaps(net);
}
