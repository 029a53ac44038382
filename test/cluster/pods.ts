/**
 * Test "pods": a namespace behind a host of the cluster, wired as the CNI bridge plugin would
 * (a stand-in until flannel-ts has its CNI plugin). A veth pair joins host and pod; the host
 * end holds the subnet's gateway (FLANNEL_SUBNET, i.e. `.1/len`, and `::1/len` for
 * FLANNEL_IPV6_SUBNET), the pod end the next address (`.2`, `::2`) with default routes via the
 * gateway; both ends get FLANNEL_MTU. The namespace is `<run prefix><name>`, owned by the
 * cluster (removed by destroy() or the stale-run clean-up).
 */
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { run, type RunOptions, type RunResult } from '../support/command.js';
import { HarnessError } from '../support/errors.js';
import { runIn } from '../support/netns.js';
import type { Cluster } from './harness.js';
import { IFNAME_MAX } from './underlay.js';

/** One address family of a pod: its address, the gateway (host end) and the subnet. */
export interface PodAddress {
  readonly ip: string;
  readonly gateway: string;
  readonly subnet: string;
  readonly prefixLength: number;
}

export interface Pod {
  readonly name: string;
  readonly host: number;
  /** The pod's namespace. */
  readonly ns: string;
  /** The host end of the veth pair (in the host namespace); the pod end is `eth0`. */
  readonly hostIface: string;
  readonly mtu: number;
  readonly v4: PodAddress | undefined;
  readonly v6: PodAddress | undefined;
  /** Runs argv inside the pod's namespace (cancelled with the cluster). */
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

export const POD_IFACE = 'eth0';

/** The gateway (FLANNEL_SUBNET's address) and the pod's address after it, from `a.b.c.1/len`. */
function podAddress(envValue: string, key: string): PodAddress {
  const slash = envValue.indexOf('/');
  const gw = IPAddress.tryParse(envValue.slice(0, slash));
  if (slash < 0 || !gw) throw new HarnessError(`${key}=${envValue}: not an address/length`);
  const net = IPNetwork.parse(envValue);
  const ip = gw.add(1n);
  if (!net.contains(ip)) throw new HarnessError(`${key}=${envValue}: no room for a pod address after the gateway`);
  return { ip: ip.toString(), gateway: gw.toString(), subnet: net.toString(), prefixLength: net.prefixLength };
}

/**
 * Creates pod `name` on host `hostIndex` from that host's parsed subnet.env (FLANNEL_SUBNET,
 * FLANNEL_IPV6_SUBNET, FLANNEL_MTU). Equivalent to:
 *   ip netns add <prefix><name>
 *   ip -n <host> link add vp-<name> mtu $MTU type veth peer name eth0 mtu $MTU netns <prefix><name>
 *   ip -n <host> addr add $GW/len dev vp-<name>; ip -n <host> link set vp-<name> up
 *   ip -n <pod> addr add $POD/len dev eth0; ip -n <pod> link set eth0 up
 *   ip -n <pod> route add default via $GW
 * (and the same for IPv6, with nodad).
 */
export async function addPod(cluster: Cluster, hostIndex: number, name: string, env: Readonly<Record<string, string>>): Promise<Pod> {
  const hostNs = cluster.hostNs(hostIndex);
  const hostIface = `vp-${name}`;
  if (hostIface.length > IFNAME_MAX) throw new HarnessError(`pod name ${name}: host interface ${hostIface} longer than ${IFNAME_MAX}`);
  const mtu = Number(env.FLANNEL_MTU);
  if (!Number.isInteger(mtu) || mtu < 1280) throw new HarnessError(`host ${hostIndex}: FLANNEL_MTU=${env.FLANNEL_MTU} is not a usable MTU`);
  const v4 = env.FLANNEL_SUBNET !== undefined ? podAddress(env.FLANNEL_SUBNET, 'FLANNEL_SUBNET') : undefined;
  const v6 = env.FLANNEL_IPV6_SUBNET !== undefined ? podAddress(env.FLANNEL_IPV6_SUBNET, 'FLANNEL_IPV6_SUBNET') : undefined;
  if (!v4 && !v6) throw new HarnessError(`host ${hostIndex}: subnet.env has neither FLANNEL_SUBNET nor FLANNEL_IPV6_SUBNET`);

  const ns = await cluster.createExtraNamespace(name);
  const signal = cluster.signal;
  await ipBatch(hostNs, [`link add ${hostIface} mtu ${mtu} type veth peer name ${POD_IFACE} mtu ${mtu} netns ${ns}`], signal);
  if (v6) {
    // No DAD on either end, so that the link-local addresses (used for neighbour discovery when
    // the host forwards) are valid at once, as on a long-running host.
    await cluster.exec(hostIndex, ['sysctl', '-q', '-w', `net.ipv6.conf.${hostIface}.accept_dad=0`]);
    await runIn(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${POD_IFACE}.accept_dad=0`], { signal });
  }
  const hostLines: string[] = [];
  const podLines = ['link set lo up'];
  for (const a of [v4, v6]) {
    if (!a) continue;
    const nodad = a === v6 ? ' nodad' : '';
    hostLines.push(`addr add ${a.gateway}/${a.prefixLength} dev ${hostIface}${nodad}`);
    podLines.push(`addr add ${a.ip}/${a.prefixLength} dev ${POD_IFACE}${nodad}`);
  }
  hostLines.push(`link set ${hostIface} up`);
  podLines.push(`link set ${POD_IFACE} up`);
  if (v4) podLines.push(`route add default via ${v4.gateway} dev ${POD_IFACE}`);
  if (v6) podLines.push(`route add default via ${v6.gateway} dev ${POD_IFACE}`);
  await ipBatch(hostNs, hostLines, signal);
  await ipBatch(ns, podLines, signal);
  // The host routes for its pods (the CNI bridge sets the same); IPv6 forwarding is per cluster.
  const sysctls = ['net.ipv4.ip_forward=1'];
  if (v6) sysctls.push('net.ipv6.conf.all.forwarding=1');
  await cluster.exec(hostIndex, ['sysctl', '-q', '-w', ...sysctls]);
  return {
    name,
    host: hostIndex,
    ns,
    hostIface,
    mtu,
    v4,
    v6,
    exec: (argv, opts = {}) => runIn(ns, argv, { signal, ...opts }),
  };
}

function ipBatch(ns: string, lines: readonly string[], signal: AbortSignal): Promise<RunResult> {
  return run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', signal });
}
