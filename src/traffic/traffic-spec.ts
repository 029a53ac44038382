/**
 * The desired state per address family, built from the managers' options and validated once.
 * Both rule renderers (iptables, nftables) work from these values.
 */
import { ConfigError } from '../errors.js';
import type { Family } from '../ip/ip-address.js';
import type { IPNetwork } from '../ip/ip-network.js';
import type { ForwardRulesOptions, MasqRulesOptions } from './traffic-manager.js';

/** kube-proxy's KUBE-MARK-MASQ bit (flannel's KubeProxyMark "0x4000/0x4000"). */
export const KUBE_PROXY_MARK_MASQ = 0x4000;

/** Multicast, never masqueraded. */
export const MULTICAST: Record<Family, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

export interface MasqSpec {
  readonly family: Family;
  /** The cluster network. */
  readonly network: IPNetwork;
  /** This host's subnet. */
  readonly subnet: IPNetwork;
  readonly kubeProxyMark: number;
  /** Undefined: decided by what the tools support. */
  readonly randomFully: boolean | undefined;
}

export interface ForwardSpec {
  readonly family: Family;
  readonly network: IPNetwork;
}

/** What is wanted for one family; an absent part is not managed. */
export interface FamilyRules {
  masq?: MasqSpec;
  forward?: ForwardSpec;
}

export const FAMILIES: readonly Family[] = [4, 6];

function checkFamily(field: string, net: IPNetwork | undefined, family: Family): void {
  if (net && net.family !== family) throw new ConfigError(field, net.toString(), `must be an IPv${family} prefix`);
}

/** Splits masquerade options into per-family specs; throws ConfigError on a missing or mismatched prefix. */
export function masqSpecs(opts: MasqRulesOptions): MasqSpec[] {
  const mark = opts.kubeProxyMarkMasq ?? KUBE_PROXY_MARK_MASQ;
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff) {
    throw new ConfigError('kubeProxyMarkMasq', mark, 'must be a non-zero 32-bit mark');
  }
  const pairs: [Family, string, IPNetwork | undefined, string, IPNetwork | undefined][] = [
    [4, 'network', opts.network, 'subnet', opts.subnet],
    [6, 'ipv6Network', opts.ipv6Network, 'ipv6Subnet', opts.ipv6Subnet],
  ];
  const specs: MasqSpec[] = [];
  for (const [family, netField, network, subField, subnet] of pairs) {
    checkFamily(netField, network, family);
    checkFamily(subField, subnet, family);
    if (!network) {
      if (subnet) throw new ConfigError(netField, undefined, `required with ${subField} ${subnet.toString()}`);
      continue;
    }
    if (!subnet) throw new ConfigError(subField, undefined, `required with ${netField} ${network.toString()}`);
    specs.push({ family, network, subnet, kubeProxyMark: mark, randomFully: opts.randomFully === false ? false : undefined });
  }
  return specs;
}

/** Splits forward options into per-family specs. */
export function forwardSpecs(opts: ForwardRulesOptions): ForwardSpec[] {
  checkFamily('network', opts.network, 4);
  checkFamily('ipv6Network', opts.ipv6Network, 6);
  const specs: ForwardSpec[] = [];
  if (opts.network) specs.push({ family: 4, network: opts.network });
  if (opts.ipv6Network) specs.push({ family: 6, network: opts.ipv6Network });
  return specs;
}
