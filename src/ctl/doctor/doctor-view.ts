/**
 * What the checks share, derived once from the facts: the network config, this host's own lease
 * (and how it was recognised), the remote leases, and subnet.env read into values.
 */
import type { NetworkConfig } from '../../config/network-config.js';
import type { IPAddress } from '../../ip/ip-address.js';
import { IPNetwork } from '../../ip/ip-network.js';
import type { Link } from '../../kernel/link.js';
import type { Lease } from '../../lease/lease.js';
import type { DoctorFacts, KernelFacts, StoredLease } from './doctor-facts.js';

/** subnet.env's values; a field is undefined when the line is absent or unreadable. */
export interface SubnetEnvValues {
  readonly network?: IPNetwork;
  /** FLANNEL_SUBNET as written: the gateway address with the lease's length (10.244.3.1/24). */
  readonly subnetText?: string;
  readonly subnet?: IPNetwork;
  readonly ipv6Network?: IPNetwork;
  readonly ipv6SubnetText?: string;
  readonly ipv6Subnet?: IPNetwork;
  readonly mtu?: number;
  readonly ipMasq?: boolean;
}

export interface DoctorView {
  readonly facts: DoctorFacts;
  readonly config?: NetworkConfig;
  readonly own?: StoredLease;
  /** How the own lease was recognised ("public IP 192.168.77.11 is on this host"). */
  readonly ownHow?: string;
  /** Every lease but the own one. */
  readonly remote: readonly StoredLease[];
  readonly env?: SubnetEnvValues;
}

function net(text: string | undefined): IPNetwork | undefined {
  if (text === undefined) return undefined;
  try {
    return IPNetwork.parse(text);
  } catch {
    return undefined;
  }
}

export function subnetEnvValues(vars: ReadonlyMap<string, string>): SubnetEnvValues {
  const mtuText = vars.get('FLANNEL_MTU');
  const mtu = mtuText !== undefined && /^\d+$/.test(mtuText) ? Number(mtuText) : undefined;
  const masq = vars.get('FLANNEL_IPMASQ');
  return {
    network: net(vars.get('FLANNEL_NETWORK')),
    subnetText: vars.get('FLANNEL_SUBNET'),
    subnet: net(vars.get('FLANNEL_SUBNET')),
    ipv6Network: net(vars.get('FLANNEL_IPV6_NETWORK')),
    ipv6SubnetText: vars.get('FLANNEL_IPV6_SUBNET'),
    ipv6Subnet: net(vars.get('FLANNEL_IPV6_SUBNET')),
    mtu,
    ipMasq: masq === 'true' ? true : masq === 'false' ? false : undefined,
  };
}

/** Every address configured on this host's interfaces. */
export function hostAddresses(kernel: KernelFacts | undefined): IPAddress[] {
  return kernel ? kernel.addresses.map((a) => a.ip) : [];
}

/**
 * This host's lease: the one of NODE_NAME (kube), else the one whose public IP is `-public-ip`,
 * else the one whose public IP is an address of this host. Not by subnet.env: that file is one
 * of the things checked against the lease.
 */
export function findOwnLease(facts: DoctorFacts): { own?: StoredLease; how?: string } {
  const leases = facts.store.leases ?? [];
  const { nodeName, publicIP, publicIPv6 } = facts.host;
  if (nodeName !== undefined) {
    const own = leases.find((l) => l.nodeName === nodeName);
    if (own) return { own, how: `node ${nodeName}` };
  }
  const byIp = (ip: IPAddress) => leases.find((l) => ip.equals(l.lease.attrs.publicIP) || ip.equals(l.lease.attrs.publicIPv6));
  for (const ip of [publicIP, publicIPv6]) {
    const own = ip && byIp(ip);
    if (own && ip) return { own, how: `public IP ${ip.toString()} (-public-ip)` };
  }
  if (publicIP === undefined && publicIPv6 === undefined) {
    for (const ip of hostAddresses(facts.kernel)) {
      const own = byIp(ip);
      if (own) return { own, how: `public IP ${ip.toString()} is on this host` };
    }
  }
  return {};
}

export function buildView(facts: DoctorFacts): DoctorView {
  const { own, how } = findOwnLease(facts);
  const remote = (facts.store.leases ?? []).filter((l) => l !== own);
  return {
    facts,
    config: facts.store.config,
    own,
    ownHow: how,
    remote,
    env: facts.subnetEnv.vars ? subnetEnvValues(facts.subnetEnv.vars) : undefined,
  };
}

export function linkNamed(kernel: KernelFacts, name: string): Link | undefined {
  return kernel.links.find((l) => l.name === name);
}

export function linkIndexed(kernel: KernelFacts, index: number | undefined): Link | undefined {
  return index === undefined ? undefined : kernel.links.find((l) => l.index === index);
}

/** "10.244.3.0/24 (192.168.77.12)": a lease as findings name it. */
export function leaseName(l: Lease): string {
  const nets = [l.subnet, l.ipv6Subnet].filter((n) => n !== undefined).map((n) => n.toString());
  const ips = [l.attrs.publicIP, l.attrs.publicIPv6].filter((n) => n !== undefined).map((n) => n.toString());
  return `${nets.join(' + ')} (${ips.length > 0 ? ips.join(', ') : 'no public IP'})`;
}
