/**
 * "A Go flannel host" without a Go flanneld: the state Go flannel (v0.20.x) leaves on a host and
 * in etcd, laid down by hand with etcdctl, `ip`, `bridge` and `iptables-restore` inside the test
 * namespaces (COMPAT.md: lease key and value byte for byte under an etcd lease, subnet.env, the
 * vxlan device and its per-peer entries, host-gw routes, the FLANNEL-POSTRTG / FLANNEL-FWD chains).
 * Test side only: the product never shells out to these tools.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IPNetwork } from '../../src/ip/ip-network.js';
import { HarnessError } from '../support/errors.js';
import type { Cluster } from './harness.js';

/** Go flannel's lease TTL: 24 h. */
export const GO_LEASE_TTL_S = 86_400;
/** kube-proxy's masquerade mark, as Go flannel matches it. */
const KUBE_PROXY_MARK = '0x4000/0x4000';

/** Go flannel's exact vxlan lease value (compact JSON, its field order). */
export function goVxlanLeaseValue(publicIP: string, vtepMac: string, vni = 1): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":${vni},"VtepMAC":"${vtepMac}"}}`;
}

/** Go flannel's exact lease value for a backend with no backend data (host-gw, ipip). */
export function goHostGwLeaseValue(publicIP: string, backendType = 'host-gw'): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"${backendType}"}`;
}

/** `<prefix>/subnets/10.5.7.0-24` for 10.5.7.0/24. */
export function goLeaseKey(subnet: IPNetwork): string {
  return `/coreos.com/network/subnets/${subnet.ip.toString()}-${subnet.prefixLength}`;
}

/**
 * Writes a lease as Go flannel does: the key bound to a fresh etcd lease of `ttlS` seconds.
 * Equivalent to: `etcdctl lease grant 86400; etcdctl put --lease=<id> <key> <value>`.
 * Resolves to the etcd lease ID (hex).
 */
export async function putGoLease(cluster: Cluster, subnet: IPNetwork, value: string, ttlS = GO_LEASE_TTL_S): Promise<string> {
  const out = await cluster.etcdctl(['lease', 'grant', String(ttlS)]);
  const m = /lease ([0-9a-f]+) granted/.exec(out);
  if (!m?.[1]) throw new HarnessError(`etcdctl lease grant ${ttlS}: unexpected output ${JSON.stringify(out)}`);
  await cluster.etcdctl(['put', `--lease=${m[1]}`, goLeaseKey(subnet), value]);
  return m[1];
}

/** The etcd lease a key is bound to and its remaining TTL (seconds), from `etcdctl get -w json` and `lease timetolive`. */
export async function etcdLeaseOf(cluster: Cluster, key: string): Promise<{ id: string; ttl: number; granted: number } | undefined> {
  // An int64: read it from the text, JSON.parse would round it.
  const m0 = /"lease":(\d+)/.exec(await cluster.etcdctl(['get', '-w', 'json', key]));
  if (!m0?.[1] || m0[1] === '0') return undefined;
  const id = BigInt(m0[1]).toString(16);
  const ttlOut = await cluster.etcdctl(['lease', 'timetolive', id]);
  const m = /granted with TTL\((\d+)s\), remaining\((-?\d+)s\)/.exec(ttlOut);
  if (!m) throw new HarnessError(`etcdctl lease timetolive ${id}: unexpected output ${JSON.stringify(ttlOut)}`);
  return { id, granted: Number(m[1]), ttl: Number(m[2]) };
}

/** subnet.env as Go flanneld writes it (IPv4). */
export function goSubnetEnv(network: IPNetwork, subnet: IPNetwork, mtu: number, ipMasq: boolean): string {
  const first = `${subnet.ip.add(1n).toString()}/${subnet.prefixLength}`;
  return `FLANNEL_NETWORK=${network.toString()}\nFLANNEL_SUBNET=${first}\nFLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=${ipMasq}\n`;
}

export async function writeGoSubnetEnv(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

async function ipBatch(cluster: Cluster, host: number, lines: readonly string[]): Promise<void> {
  await cluster.exec(host, ['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/**
 * flannel.<vni> as Go flannel creates it: VNI, port 8472, nolearning, local = public IP on the
 * external interface, MTU = underlay − 50, the subnet's network address /32, the lease's VtepMAC, up.
 */
export async function layGoVxlanDevice(
  cluster: Cluster,
  host: number,
  o: { subnet: IPNetwork; mac: string; mtu: number; vni?: number },
): Promise<void> {
  const vni = o.vni ?? 1;
  const dev = `flannel.${vni}`;
  await ipBatch(cluster, host, [
    `link add ${dev} address ${o.mac} mtu ${o.mtu} type vxlan id ${vni} local ${cluster.hostAddress(host)} dev ${cluster.hostIface(host)} dstport 8472 nolearning`,
    `addr add ${o.subnet.ip.toString()}/32 dev ${dev}`,
    `link set ${dev} up`,
  ]);
}

/** Go flannel's entries for one vxlan peer: route onlink, permanent neighbour, FDB `self permanent`. */
export async function layGoVxlanPeer(cluster: Cluster, host: number, peer: { subnet: IPNetwork; mac: string; publicIP: string }, vni = 1): Promise<void> {
  const dev = `flannel.${vni}`;
  const gw = peer.subnet.ip.toString();
  await ipBatch(cluster, host, [`neigh replace ${gw} lladdr ${peer.mac} dev ${dev} nud permanent`, `route replace ${peer.subnet.toString()} via ${gw} dev ${dev} onlink`]);
  await cluster.exec(host, ['bridge', 'fdb', 'replace', peer.mac, 'dev', dev, 'dst', peer.publicIP, 'self', 'permanent']);
}

/** flannel.ipip as Go flannel creates it: ipip, local = public IP, MTU = underlay − 20, the subnet's network address /32, up. */
export async function layGoIpipDevice(cluster: Cluster, host: number, o: { subnet: IPNetwork; mtu: number }): Promise<void> {
  await ipBatch(cluster, host, [
    `link add flannel.ipip mtu ${o.mtu} type ipip local ${cluster.hostAddress(host)} ttl inherit nopmtudisc`,
    `addr add ${o.subnet.ip.toString()}/32 dev flannel.ipip`,
    'link set flannel.ipip up',
  ]);
}

/** Go flannel's ipip route for one peer: `<subnet> via <public IP> dev flannel.ipip onlink`. */
export async function layGoIpipPeer(cluster: Cluster, host: number, peer: { subnet: IPNetwork; publicIP: string }): Promise<void> {
  await ipBatch(cluster, host, [`route replace ${peer.subnet.toString()} via ${peer.publicIP} dev flannel.ipip onlink`]);
}

/** Go flannel's host-gw route for one peer: `<subnet> via <public IP> dev <iface>`. */
export async function layGoHostGwPeer(cluster: Cluster, host: number, peer: { subnet: IPNetwork; publicIP: string }): Promise<void> {
  await ipBatch(cluster, host, [`route replace ${peer.subnet.toString()} via ${peer.publicIP} dev ${cluster.hostIface(host)}`]);
}

/**
 * Go flannel's chains, exactly as `iptables-save` prints them (v0.20.x, `-ip-masq` and
 * `-iptables-forward-rules`): nat table lines, then filter table lines.
 */
export function goChainLines(network: IPNetwork, subnet: IPNetwork, randomFully = true): { nat: string[]; filter: string[] } {
  const net = network.toString();
  const sub = subnet.toString();
  const c = '-m comment --comment "flanneld masq"';
  const masq = randomFully ? '-j MASQUERADE --random-fully' : '-j MASQUERADE';
  const f = '-m comment --comment "flanneld forward"';
  return {
    nat: [
      `-A POSTROUTING ${c} -j FLANNEL-POSTRTG`,
      `-A FLANNEL-POSTRTG -m mark --mark ${KUBE_PROXY_MARK} ${c} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${sub} -d ${net} ${c} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${net} -d ${sub} ${c} -j RETURN`,
      `-A FLANNEL-POSTRTG ! -s ${net} -d ${sub} ${c} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${net} ! -d 224.0.0.0/4 ${c} ${masq}`,
      `-A FLANNEL-POSTRTG ! -s ${net} -d ${net} ${c} ${masq}`,
    ],
    filter: [`-A FORWARD ${f} -j FLANNEL-FWD`, `-A FLANNEL-FWD -s ${net} ${f} -j ACCEPT`, `-A FLANNEL-FWD -d ${net} ${f} -j ACCEPT`],
  };
}

/** Creates Go flannel's chains on a host. Equivalent to: `iptables-restore --noflush` of goChainLines(). */
export async function layGoChains(cluster: Cluster, host: number, network: IPNetwork, subnet: IPNetwork): Promise<void> {
  const { nat, filter } = goChainLines(network, subnet);
  const input = `*nat\n:FLANNEL-POSTRTG - [0:0]\n${nat.join('\n')}\nCOMMIT\n*filter\n:FLANNEL-FWD - [0:0]\n${filter.join('\n')}\nCOMMIT\n`;
  await cluster.exec(host, ['iptables-restore', '--noflush'], { input });
}

/** The flannel lines (`-A` of FLANNEL chains or jumps to them) of `iptables-save -t <table>`, in order. */
export async function flannelRuleLines(cluster: Cluster, host: number, table: 'nat' | 'filter'): Promise<string[]> {
  const { stdout } = await cluster.exec(host, ['iptables-save', '-t', table]);
  return stdout.split('\n').filter((l) => l.startsWith('-A ') && /FLANNEL-(POSTRTG|FWD)/.test(l));
}

/** Go flannel's exact wireguard lease value (IPv4). */
export function goWireguardLeaseValue(publicIP: string, publicKey: string, port = 51820): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${publicKey}","Port":${port}}}`;
}
