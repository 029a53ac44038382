import type { NetworkConfig } from '../config/network-config.js';
import type { IPAddress } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
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
  private readonly exact = new Set<string>();
  private readonly odd: IPNetwork[] = [];

  constructor(
    private readonly subnetLen: number,
    nets: Iterable<IPNetwork | undefined>,
  ) {
    for (const n of nets) {
      if (!n) continue;
      if (n.prefixLength === subnetLen) this.exact.add(n.ip.value.toString());
      else this.odd.push(n);
    }
  }

  has(net: IPNetwork): boolean {
    if (net.prefixLength === this.subnetLen && this.exact.has(net.ip.value.toString())) return true;
    return this.odd.some((o) => o.overlaps(net));
  }
}

/**
 * Up to `limit` free subnets of `subnetLen` in [min, max], in order. Scans at most
 * limit + (number taken) + 1 positions, so thousands of leases cost microseconds.
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
  let sn = IPNetwork.of(min, subnetLen);
  for (let scanned = 0; scanned < maxScan && out.length < limit && sn.ip.compare(max) <= 0; scanned++) {
    if (!taken.has(sn)) out.push(sn);
    if (sn.ip.compare(max) >= 0) break;
    sn = sn.next();
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
  const v4 = new TakenSubnets(config.subnetLen, leases.map((l) => l.subnet));
  const v6 = new TakenSubnets(config.ipv6SubnetLen, leases.map((l) => l.ipv6Subnet));
  return !(preferred.subnet && v4.has(preferred.subnet)) && !(preferred.ipv6Subnet && v6.has(preferred.ipv6Subnet));
}
