/**
 * The cluster's underlay network: one namespace holding a bridge with the gateway address,
 * and a veth pair per node (host or etcd) from the node's namespace into that bridge. Nothing
 * is created in the root namespace: each veth pair is made inside the underlay namespace with
 * its far end placed straight into the node's namespace.
 */
import { run } from '../support/command.js';
import { createNetns, runIn } from '../support/netns.js';

export const UNDERLAY_V4 = { prefix: '192.168.77.', len: 24, gateway: '192.168.77.1' } as const;
export const UNDERLAY_V6 = { prefix: 'fd77::', len: 64, gateway: 'fd77::1' } as const;
export const UNDERLAY_MTU = 1500;

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

export interface UnderlaySpec {
  ns: string;
  bridge: string;
  ipv6: boolean;
  /** IPv4 prefix length of the underlay (default 24; e.g. 16 so that made-up peers at 192.168.x.y are on-link). */
  v4PrefixLength?: number;
}

export interface NodeSpec {
  ns: string;
  /** Interface name inside the node namespace. */
  ifname: string;
  /** Name of the veth end enslaved to the bridge (in the underlay namespace). */
  peerName: string;
  /** Last IPv4 octet (and IPv6 suffix) of the node's address. */
  suffix: number;
}

function ipBatch(ns: string, lines: string[], signal?: AbortSignal): Promise<unknown> {
  return run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', signal });
}

/** Equivalent to: `ip netns add $ns; ip -n $ns link add $bridge type bridge; ip -n $ns addr add 192.168.77.1/24 dev $bridge`. */
export async function createUnderlay(u: UnderlaySpec, signal?: AbortSignal): Promise<void> {
  await createNetns(u.ns, { signal });
  const lines = [
    'link set lo up',
    `link add ${u.bridge} mtu ${UNDERLAY_MTU} type bridge stp_state 0`,
    `addr add ${UNDERLAY_V4.gateway}/${u.v4PrefixLength ?? UNDERLAY_V4.len} dev ${u.bridge}`,
  ];
  if (u.ipv6) lines.push(`addr add ${UNDERLAY_V6.gateway}/${UNDERLAY_V6.len} dev ${u.bridge} nodad`);
  lines.push(`link set ${u.bridge} up`);
  await ipBatch(u.ns, lines, signal);
}

export function nodeAddress(suffix: number): string {
  return `${UNDERLAY_V4.prefix}${suffix}`;
}

export function nodeAddress6(suffix: number): string {
  return `${UNDERLAY_V6.prefix}${suffix}`;
}

/**
 * Creates the node's namespace and wires it to the bridge: address, lo up, a default route
 * via the gateway, forwarding on. The namespace itself must not exist yet.
 */
export async function attachNode(u: UnderlaySpec, n: NodeSpec, signal?: AbortSignal): Promise<void> {
  await createNetns(n.ns, { signal });
  await ipBatch(
    u.ns,
    [
      `link add ${n.peerName} mtu ${UNDERLAY_MTU} type veth peer name ${n.ifname} mtu ${UNDERLAY_MTU} netns ${n.ns}`,
      `link set ${n.peerName} master ${u.bridge}`,
      `link set ${n.peerName} up`,
    ],
    signal,
  );
  if (u.ipv6) {
    // Without DAD the link-local address is usable at once: a host forwarding IPv6 (host-gw,
    // DirectRouting) solicits neighbours from it, so a tentative one would stall the first packets.
    await runIn(n.ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${n.ifname}.accept_dad=0`], { signal });
  }
  const lines = [
    'link set lo up',
    `addr add ${nodeAddress(n.suffix)}/${u.v4PrefixLength ?? UNDERLAY_V4.len} dev ${n.ifname}`,
    `link set ${n.ifname} up`,
    `route add default via ${UNDERLAY_V4.gateway} dev ${n.ifname}`,
  ];
  if (u.ipv6) {
    lines.push(
      `addr add ${nodeAddress6(n.suffix)}/${UNDERLAY_V6.len} dev ${n.ifname} nodad`,
      `route add default via ${UNDERLAY_V6.gateway} dev ${n.ifname}`,
    );
  }
  await ipBatch(n.ns, lines, signal);
  const sysctls = ['net.ipv4.ip_forward=1'];
  if (u.ipv6) sysctls.push('net.ipv6.conf.all.forwarding=1');
  await runIn(n.ns, ['sysctl', '-q', '-w', ...sysctls], { signal });
}
