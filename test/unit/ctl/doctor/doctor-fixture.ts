/**
 * A healthy vxlan host as doctor's facts: host 1 (192.168.77.11, lease 10.244.1.0/24) with two
 * peers (10.244.2.0/24 at .12, 10.244.3.0/24 at .13), a cni0 bridge with two pods, the
 * masquerade and forward rules as flanneld writes them, and the kernel's vxlan socket. Tests
 * change one thing and look for the finding.
 */
import { parseNetworkConfig, type NetworkConfig } from '../../../../src/config/network-config.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { InterfaceAddress } from '../../../../src/kernel/address.js';
import type { Link } from '../../../../src/kernel/link.js';
import type { Route } from '../../../../src/kernel/route.js';
import type { Lease } from '../../../../src/lease/lease.js';
import { forwardChain, masqChain, ruleLine, type ChainSpec } from '../../../../src/traffic/iptables/iptables-rules.js';
import { KUBE_PROXY_MARK_MASQ } from '../../../../src/traffic/traffic-spec.js';
import type { DoctorFacts, KernelFacts, StoredLease } from '../../../../src/ctl/doctor/doctor-facts.js';

export const ip = IPAddress.parse;
export const net = (s: string) => IPNetwork.parse(s);

export const MAC = { 1: '0e:2a:00:00:00:01', 2: '0e:2a:00:00:00:02', 3: '0e:2a:00:00:00:03' } as const;
export const NETWORK = '10.244.0.0/16';

export function lease(n: 1 | 2 | 3, extra: Partial<Lease['attrs']> = {}, subnet = `10.244.${n}.0/24`): StoredLease {
  return {
    lease: {
      subnet: net(subnet),
      ipv6Subnet: undefined,
      attrs: { publicIP: ip(`192.168.77.${10 + n}`), publicIPv6: undefined, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: MAC[n] }, backendV6Data: undefined, ...extra },
      expiration: new Date(Date.now() + 86_400_000),
    },
  };
}

export function config(backend: Record<string, unknown> = { Type: 'vxlan' }, extra: Record<string, unknown> = {}): NetworkConfig {
  return parseNetworkConfig(JSON.stringify({ Network: NETWORK, Backend: backend, ...extra }));
}

const link = (index: number, name: string, extra: Partial<Link> = {}): Link => ({ index, name, type: 1, flags: 1, up: true, mtu: 1500, ...extra });
const addr = (linkIndex: number, a: string, prefixLength: number): InterfaceAddress => ({ linkIndex, ip: ip(a), prefixLength, scope: 0, flags: 0 });

export function vxlanKernel(): KernelFacts {
  const links: Link[] = [
    link(1, 'lo', { type: 772, mtu: 65536 }),
    link(2, 'eth0', { hardwareAddr: '52:54:00:00:00:01' }),
    link(3, 'flannel.1', { kind: 'vxlan', mtu: 1450, hardwareAddr: MAC[1], vxlan: { vni: 1, port: 8472, local: ip('192.168.77.11'), deviceIndex: 2, learning: false, gbp: false, l2miss: false, l3miss: false } }),
    link(4, 'cni0', { kind: 'bridge', mtu: 1450 }),
    link(5, 'veth1', { kind: 'veth', mtu: 1450, masterIndex: 4 }),
    link(6, 'veth2', { kind: 'veth', mtu: 1450, masterIndex: 4 }),
  ];
  const routes: Route[] = [
    { dst: net('0.0.0.0/0'), gateway: ip('192.168.77.1'), linkIndex: 2, table: 254 },
    { dst: net('192.168.77.0/24'), linkIndex: 2, table: 254 },
    { dst: net('10.244.1.0/24'), linkIndex: 4, table: 254 },
    { dst: net('10.244.2.0/24'), gateway: ip('10.244.2.0'), linkIndex: 3, onlink: true, table: 254 },
    { dst: net('10.244.3.0/24'), gateway: ip('10.244.3.0'), linkIndex: 3, onlink: true, table: 254 },
  ];
  return {
    links,
    addresses: [addr(1, '127.0.0.1', 8), addr(2, '192.168.77.11', 24), addr(3, '10.244.1.0', 32), addr(4, '10.244.1.1', 24)],
    routes,
    neighbors: [
      { linkIndex: 3, ip: ip('10.244.2.0'), hardwareAddr: MAC[2], state: 0x80 },
      { linkIndex: 3, ip: ip('10.244.3.0'), hardwareAddr: MAC[3], state: 0x80 },
    ],
    fdb: [
      { linkIndex: 3, hardwareAddr: MAC[2], dst: ip('192.168.77.12'), state: 0x80 },
      { linkIndex: 3, hardwareAddr: MAC[3], dst: ip('192.168.77.13'), state: 0x80 },
    ],
    wireguard: new Map(),
  };
}

/** iptables-save text of the nat and filter tables with the given chains of ours, as iptables prints it. */
export function iptablesSave(chains: readonly ChainSpec[], opts: { forwardPolicy?: string; input?: readonly string[]; inputPolicy?: string } = {}): string {
  const table = (name: 'nat' | 'filter', builtins: readonly string[]) => {
    const mine = chains.filter((c) => c.table === name);
    const lines = [`*${name}`, ...builtins.map((b) => `:${b} ${b === 'FORWARD' ? (opts.forwardPolicy ?? 'ACCEPT') : b === 'INPUT' && name === 'filter' ? (opts.inputPolicy ?? 'ACCEPT') : 'ACCEPT'} [0:0]`)];
    for (const c of mine) lines.push(`:${c.chain} - [0:0]`);
    if (name === 'filter') lines.push(...(opts.input ?? []));
    for (const c of mine) lines.push(ruleLine(c.jump));
    for (const c of mine) lines.push(...c.rules.map((r) => ruleLine(r)));
    return [...lines, 'COMMIT', ''].join('\n');
  };
  return table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']) + table('filter', ['INPUT', 'FORWARD', 'OUTPUT']);
}

export function flannelChains(randomFully = true): ChainSpec[] {
  const spec = { family: 4 as const, network: net(NETWORK), subnet: net('10.244.1.0/24'), kubeProxyMark: KUBE_PROXY_MARK_MASQ, randomFully: undefined };
  return [masqChain(spec, randomFully), forwardChain({ family: 4, network: net(NETWORK) })];
}

export function healthyFacts(): DoctorFacts {
  return {
    store: { config: config(), leases: [lease(1), lease(2), lease(3)] },
    host: {},
    subnetEnv: {
      path: '/run/flannel/subnet.env',
      vars: new Map([
        ['FLANNEL_NETWORK', NETWORK],
        ['FLANNEL_SUBNET', '10.244.1.1/24'],
        ['FLANNEL_MTU', '1450'],
        ['FLANNEL_IPMASQ', 'true'],
      ]),
    },
    kernel: vxlanKernel(),
    rules: { byFamily: { 4: { iptablesSave: iptablesSave(flannelChains()) } } },
    udpSockets: [{ ip: ip('0.0.0.0'), port: 8472 }],
  };
}

/** A copy of the facts with the kernel part changed by `edit`. */
export function withKernel(f: DoctorFacts, edit: (k: { -readonly [K in keyof KernelFacts]: KernelFacts[K] }) => void): DoctorFacts {
  const k = { ...f.kernel! };
  edit(k);
  return { ...f, kernel: k };
}
