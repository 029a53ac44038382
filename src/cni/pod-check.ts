/**
 * CHECK's comparison, pure: what the previous ADD's result says the pod has (its interface,
 * addresses and routes) against a snapshot of the pod's namespace. Each problem found is one
 * readable line. Routes are compared by destination (and gateway when the result names one),
 * so a route the delegate installed through the subnet's gateway matches a gateway-less result
 * route, and later plugins in a chain may still add their own.
 */
import { IPNetwork } from '../ip/ip-network.js';
import type { NetnsSnapshot, SnapshotLink } from '../kernel/netns-snapshot.js';
import type { CniResult, ResultIp } from './cni-result.js';

export interface PodExpectation {
  readonly result: CniResult;
  /** CNI_IFNAME. */
  readonly ifName: string;
  /** CNI_NETNS, for messages. */
  readonly netns: string;
  /** Subnets the pod's addresses must lie in (the node's current FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET). */
  readonly subnets?: readonly IPNetwork[];
}

/**
 * The result's addresses that belong to the pod's interface: those of the interface named
 * `ifName` with a sandbox (a result may name the sandbox by another path than CNI_NETNS), and
 * those that name no interface.
 */
export function podAddresses(result: CniResult, ifName: string): ResultIp[] {
  const podIndexes = new Set<number>();
  result.interfaces.forEach((iface, i) => {
    if (iface.name === ifName && (iface.sandbox !== '' || result.interfaces.length === 1)) podIndexes.add(i);
  });
  return result.ips.filter((ip) => ip.interfaceIndex === undefined || podIndexes.has(ip.interfaceIndex));
}

/** Problems with the pod's network; empty when it is as the result says. */
export function podProblems(want: PodExpectation, snap: NetnsSnapshot): string[] {
  const problems: string[] = [];
  const link: SnapshotLink | undefined = snap.links.find((l) => l.name === want.ifName);
  if (!link) return [`interface ${want.ifName} is missing from ${want.netns}`];
  if (!link.up) problems.push(`interface ${want.ifName} is down`);
  const iface = want.result.interfaces.find((i) => i.name === want.ifName && i.sandbox !== '');
  if (iface?.mac && link.hardwareAddr && iface.mac !== link.hardwareAddr.toLowerCase()) {
    problems.push(`interface ${want.ifName} has MAC ${link.hardwareAddr}, the result says ${iface.mac}`);
  }

  for (const a of podAddresses(want.result, want.ifName)) {
    const text = `${a.ip.toString()}/${a.prefixLength}`;
    const found = snap.addresses.some((s) => s.linkIndex === link.index && s.ip === a.ip.toString() && s.prefixLength === a.prefixLength);
    if (!found) problems.push(`address ${text} is missing from ${want.ifName}`);
    const sameFamily = (want.subnets ?? []).filter((n) => n.family === a.ip.family);
    if (sameFamily.length > 0 && !sameFamily.some((n) => n.contains(a.ip))) {
      problems.push(`address ${text} is outside this node's subnet ${sameFamily.map((n) => n.toString()).join(', ')} (flanneld's lease changed?)`);
    }
  }

  const main = snap.routes.filter((r) => r.table === 254);
  for (const r of want.result.routes) {
    const text = `${r.dst.toString()}${r.gw ? ` via ${r.gw.toString()}` : ''}`;
    const found = main.some((k) => sameNetwork(k.dst, r.dst) && (!r.gw || k.gateway === r.gw.toString()));
    if (!found) problems.push(`route ${text} is missing`);
  }
  return problems;
}

function sameNetwork(text: string, want: IPNetwork): boolean {
  try {
    return IPNetwork.parse(text).equals(want);
  } catch {
    return false;
  }
}
