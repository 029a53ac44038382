import type { IPAddress } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import type { KernelOps } from '../kernel/kernel-ops.js';

/**
 * The prefixes directly attached to a link (from its addresses). A peer whose public IP lies in
 * one of them is on the same L2 network: host-gw and DirectRouting can route to it directly.
 */
export async function onLinkPrefixes(kernel: KernelOps, linkIndex: number, signal?: AbortSignal): Promise<IPNetwork[]> {
  const addrs = await kernel.listAddresses({ linkIndex }, { signal });
  return addrs.filter((a) => a.scope === 0).map((a) => IPNetwork.of(a.ip, a.prefixLength));
}

export function isOnLink(prefixes: readonly IPNetwork[], ip: IPAddress | undefined): boolean {
  return ip !== undefined && prefixes.some((p) => p.contains(ip));
}
