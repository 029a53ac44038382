/**
 * "A Go flannel host" without a Go flanneld: the state Go flannel (v0.20.x) leaves on a host and
 * in etcd, laid down by hand with etcdctl, `ip`, `bridge` and `iptables-restore` inside the test
 * namespaces (COMPAT.md: lease key and value byte for byte under an etcd lease, subnet.env, the
 * vxlan device and its per-peer entries, host-gw routes, the FLANNEL-POSTRTG / FLANNEL-FWD chains).
 * Test side only: the product never shells out to these tools.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IPNetwork } from '../../src/ip/ip-network.js';
import { HarnessError } from '../support/errors.js';
import { poll } from '../support/poll.js';
import type { Agent } from './agent.js';
import type { Cluster } from './harness.js';
import { readLink } from './kernel-state.js';

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
  return chainLines(network, subnet, randomFully, '224.0.0.0/4');
}

/** The same for IPv6, as `ip6tables-save` prints them (multicast is ff00::/8). */
export function goChainLines6(network6: IPNetwork, subnet6: IPNetwork, randomFully = true): { nat: string[]; filter: string[] } {
  return chainLines(network6, subnet6, randomFully, 'ff00::/8');
}

function chainLines(network: IPNetwork, subnet: IPNetwork, randomFully: boolean, multicast: string): { nat: string[]; filter: string[] } {
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
      `-A FLANNEL-POSTRTG -s ${net} ! -d ${multicast} ${c} ${masq}`,
      `-A FLANNEL-POSTRTG ! -s ${net} -d ${net} ${c} ${masq}`,
    ],
    filter: [`-A FORWARD ${f} -j FLANNEL-FWD`, `-A FLANNEL-FWD -s ${net} ${f} -j ACCEPT`, `-A FLANNEL-FWD -d ${net} ${f} -j ACCEPT`],
  };
}

/** Creates Go flannel's chains on a host. Equivalent to: `iptables-restore --noflush` of goChainLines(). */
export async function layGoChains(cluster: Cluster, host: number, network: IPNetwork, subnet: IPNetwork): Promise<void> {
  await restoreChains(cluster, host, 'iptables-restore', goChainLines(network, subnet));
}

/** Creates Go flannel's IPv6 chains on a host. Equivalent to: `ip6tables-restore --noflush` of goChainLines6(). */
export async function layGoChains6(cluster: Cluster, host: number, network6: IPNetwork, subnet6: IPNetwork): Promise<void> {
  await restoreChains(cluster, host, 'ip6tables-restore', goChainLines6(network6, subnet6));
}

async function restoreChains(cluster: Cluster, host: number, tool: string, { nat, filter }: { nat: string[]; filter: string[] }): Promise<void> {
  const input = `*nat\n:FLANNEL-POSTRTG - [0:0]\n${nat.join('\n')}\nCOMMIT\n*filter\n:FLANNEL-FWD - [0:0]\n${filter.join('\n')}\nCOMMIT\n`;
  await cluster.exec(host, [tool, '--noflush'], { input });
}

/** The flannel lines (`-A` of FLANNEL chains or jumps to them) of `iptables-save -t <table>`, in order. */
export async function flannelRuleLines(cluster: Cluster, host: number, table: 'nat' | 'filter'): Promise<string[]> {
  return ruleLines(cluster, host, 'iptables-save', table);
}

/** Asserts host's iptables hold Go's flannel chains for `subnet` exactly once (nat and filter). */
export async function assertGoChainsKept(cluster: Cluster, host: number, network: IPNetwork, subnet: IPNetwork): Promise<void> {
  const want = goChainLines(network, subnet);
  assert.deepEqual(await flannelRuleLines(cluster, host, 'nat'), want.nat, 'nat chains taken over, no duplicates');
  assert.deepEqual(await flannelRuleLines(cluster, host, 'filter'), want.filter, 'filter chains taken over, no duplicates');
}

/**
 * Asserts the agent on `host` adopted Go's vxlan devices: each still has Go's VtepMAC and its
 * ifindex from before (`ifindex[dev]`), and the agent logged that it reused it.
 */
export async function assertGoVxlanDevicesAdopted(cluster: Cluster, host: number, agent: Agent, macs: Readonly<Record<string, string>>, ifindex: Readonly<Record<string, number>>): Promise<void> {
  for (const [dev, mac] of Object.entries(macs)) {
    const link = await readLink(cluster, host, dev);
    assert.equal(link?.address, mac, `${dev}: VtepMAC kept`);
    assert.equal(link?.ifindex, ifindex[dev], `${dev}: Go's device adopted, not re-created`);
    assert.match(await agent.readLog(), new RegExp(`reusing vxlan device ${dev.replace('.', '\\.')}`));
  }
}

/**
 * The same for ip6tables and `subnet6`, once host's ip6tables rules are set up (they come right
 * after the lease; waited for up to 3 s).
 */
export async function assertGoChains6Kept(cluster: Cluster, host: number, network6: IPNetwork, subnet6: IPNetwork): Promise<void> {
  await poll(async () => (await flannelRuleLines6(cluster, host, 'filter')).length > 0, { what: `host ${host} ip6tables rules`, timeoutMs: 3000 });
  const want = goChainLines6(network6, subnet6);
  assert.deepEqual(await flannelRuleLines6(cluster, host, 'nat'), want.nat, 'ip6tables nat chains kept, no duplicates');
  assert.deepEqual(await flannelRuleLines6(cluster, host, 'filter'), want.filter, 'ip6tables filter chains kept, no duplicates');
}

/** The same from `ip6tables-save -t <table>`. */
export async function flannelRuleLines6(cluster: Cluster, host: number, table: 'nat' | 'filter'): Promise<string[]> {
  return ruleLines(cluster, host, 'ip6tables-save', table);
}

async function ruleLines(cluster: Cluster, host: number, tool: string, table: 'nat' | 'filter'): Promise<string[]> {
  const { stdout } = await cluster.exec(host, [tool, '-t', table]);
  return stdout.split('\n').filter((l) => l.startsWith('-A ') && /FLANNEL-(POSTRTG|FWD)/.test(l));
}

/** Go flannel's exact wireguard lease value (IPv4). */
export function goWireguardLeaseValue(publicIP: string, publicKey: string, port = 51820): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${publicKey}","Port":${port}}}`;
}

/**
 * Go flannel's exact dual-stack vxlan lease value: both public IPs, BackendData for flannel.<vni>,
 * BackendV6Data for flannel-v6.<vni> (LeaseAttrs' field order, compact).
 */
export function goVxlanDualLeaseValue(publicIP: string, publicIPv6: string, mac4: string, mac6: string, vni = 1): string {
  return (
    `{"PublicIP":"${publicIP}","PublicIPv6":"${publicIPv6}","BackendType":"vxlan",` +
    `"BackendData":{"VNI":${vni},"VtepMAC":"${mac4}"},"BackendV6Data":{"VNI":${vni},"VtepMAC":"${mac6}"}}`
  );
}

/** Go flannel's exact extension lease value: BackendData is PreStartupCommand's trimmed output as a JSON string. */
export function goExtensionLeaseValue(publicIP: string, preStartupOutput: string): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"extension","BackendData":${JSON.stringify(preStartupOutput)}}`;
}

/** Go flannel's exact udp (and alloc) lease value: no BackendType, no BackendData. */
export function goUdpLeaseValue(publicIP: string): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null}`;
}

/** `<prefix>/subnets/10.5.7.0-24&fc00:5:0:7::-64` (MakeSubnetKey with an IPv6 subnet). */
export function goDualLeaseKey(subnet: IPNetwork, subnet6: IPNetwork): string {
  return `${goLeaseKey(subnet)}&${subnet6.ip.toString()}-${subnet6.prefixLength}`;
}

/** putGoLease for any key (e.g. goDualLeaseKey()): the key under a fresh etcd lease of `ttlS` seconds. */
export async function putGoLeaseAt(cluster: Cluster, key: string, value: string, ttlS = GO_LEASE_TTL_S): Promise<string> {
  const out = await cluster.etcdctl(['lease', 'grant', String(ttlS)]);
  const m = /lease ([0-9a-f]+) granted/.exec(out);
  if (!m?.[1]) throw new HarnessError(`etcdctl lease grant ${ttlS}: unexpected output ${JSON.stringify(out)}`);
  await cluster.etcdctl(['put', `--lease=${m[1]}`, key, value]);
  return m[1];
}

/** subnet.env as Go flanneld writes it with IPv4 and IPv6 (WriteSubnetFile's order). */
export function goSubnetEnvDual(network: IPNetwork, subnet: IPNetwork, network6: IPNetwork, subnet6: IPNetwork, mtu: number, ipMasq: boolean): string {
  const first = (n: IPNetwork) => `${n.ip.add(1n).toString()}/${n.prefixLength}`;
  return (
    `FLANNEL_NETWORK=${network.toString()}\nFLANNEL_SUBNET=${first(subnet)}\n` +
    `FLANNEL_IPV6_NETWORK=${network6.toString()}\nFLANNEL_IPV6_SUBNET=${first(subnet6)}\n` +
    `FLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=${ipMasq}\n`
  );
}

/**
 * flannel-v6.<vni> as Go flannel (v0.20.x) creates it: VNI, port 8472, nolearning, local = the
 * public IPv6 address on the external interface, no MTU given (the kernel derives underlay − 70),
 * accept_ra 0, the IPv6 subnet's network address /128, the lease's VtepMAC, up.
 */
export async function layGoVxlanV6Device(cluster: Cluster, host: number, o: { subnet6: IPNetwork; mac: string; vni?: number }): Promise<void> {
  const vni = o.vni ?? 1;
  const dev = `flannel-v6.${vni}`;
  await ipBatch(cluster, host, [
    `link add ${dev} address ${o.mac} type vxlan id ${vni} local ${cluster.hostAddress6(host)} dev ${cluster.hostIface(host)} dstport 8472 nolearning`,
  ]);
  await cluster.exec(host, ['sysctl', '-qw', `net.ipv6.conf.${dev.replace('.', '/')}.accept_ra=0`]);
  await ipBatch(cluster, host, [`addr add ${o.subnet6.ip.toString()}/128 dev ${dev}`, `link set ${dev} up`]);
  // A Go host that has run a while has long finished duplicate address detection; its end (the
  // address losing "tentative", the kernel adding its local route) must not fall into a test's
  // watch of the data path.
  await poll(async () => (await cluster.exec(host, ['ip', '-6', 'addr', 'show', 'dev', dev, 'tentative'])).stdout.trim() === '', {
    what: `${dev}: duplicate address detection of ${o.subnet6.ip.toString()} done`,
    timeoutMs: 10_000,
  });
}

/** Go flannel's entries for one IPv6 vxlan peer on flannel-v6.<vni>: route onlink, permanent neighbour, FDB to its public IPv6. */
export async function layGoVxlanV6Peer(cluster: Cluster, host: number, peer: { subnet6: IPNetwork; mac: string; publicIPv6: string }, vni = 1): Promise<void> {
  const dev = `flannel-v6.${vni}`;
  const gw = peer.subnet6.ip.toString();
  await ipBatch(cluster, host, [`neigh replace ${gw} lladdr ${peer.mac} dev ${dev} nud permanent`, `route replace ${peer.subnet6.toString()} via ${gw} dev ${dev} onlink`]);
  await cluster.exec(host, ['bridge', 'fdb', 'replace', peer.mac, 'dev', dev, 'dst', peer.publicIPv6, 'self', 'permanent']);
}

/** Where a host's Go flannel subnet file lies when the cluster was created with privateDirs ['/run/flannel']. */
export function goPrivatePath(cluster: Cluster, host: number, path: string): string {
  return join(cluster.hostDir(host), 'private', path);
}

/**
 * Go flanneld's udp data path, which lives in its process: a TUN device flannel0 (not persistent,
 * so it goes when the process does), a UDP socket on <public IP>:8285, each packet read from
 * flannel0 sent whole as one datagram to the public IP of the peer whose subnet holds its
 * destination, each datagram received written to flannel0 (flannel's C proxy, without its ICMP
 * replies). Test side only; a stand-in for a Go binary this machine does not have.
 */
const GO_UDP_PROXY = `import fcntl, ipaddress, os, select, socket, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"flannel0", 0x0001 | 0x1000))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
peers = [(ipaddress.ip_network(a.split("=")[0]), a.split("=")[1]) for a in sys.argv[3:]]
print("ready", flush=True)
while True:
    r, _, _ = select.select([fd, s], [], [])
    if fd in r:
        p = os.read(fd, 65535)
        if len(p) >= 20:
            dst = ipaddress.ip_address(p[16:20])
            for net, ip in peers:
                if dst in net:
                    s.sendto(p, (ip, int(sys.argv[2])))
                    break
    if s in r:
        os.write(fd, s.recv(65535))
`;

export interface GoUdpProxy {
  /** SIGTERM, as `systemctl stop flanneld`; resolves once the process (and so flannel0) is gone. */
  stop(): Promise<void>;
}

/**
 * Starts "Go flanneld's udp backend" on a host: the proxy above, then flannel0 configured as Go's
 * configureIface does (the subnet's network address /32, MTU = underlay − 28, up, a route for the
 * whole network through it, scope universe). `peers`: subnet -> public IP, from their leases.
 */
export async function startGoUdpProxy(
  cluster: Cluster,
  host: number,
  o: { subnet: IPNetwork; network: IPNetwork; mtu: number; peers: readonly { subnet: IPNetwork; publicIP: string }[]; port?: number },
): Promise<GoUdpProxy> {
  const port = o.port ?? 8285;
  // The interpreter itself, not a version manager's shim (which costs ~1 s a start on a busy host).
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const argv = ['ip', 'netns', 'exec', cluster.hostNs(host), python, '-c', GO_UDP_PROXY, cluster.hostAddress(host), String(port)];
  const child = spawn(argv[0] ?? 'ip', [...argv.slice(1), ...o.peers.map((p) => `${p.subnet.toString()}=${p.publicIP}`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const kill = () => child.kill('SIGKILL');
  cluster.signal.addEventListener('abort', kill, { once: true });
  const stop = async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(kill, 3000);
    await exited;
    clearTimeout(timer);
    cluster.signal.removeEventListener('abort', kill);
  };
  try {
    await poll(
      () => {
        if (child.exitCode !== null) throw new HarnessError(`Go udp stand-in on host ${host} exited (${child.exitCode}): ${out}`);
        return out.includes('ready');
      },
      { what: `Go udp stand-in on host ${host} to open flannel0`, timeoutMs: 5000, intervalMs: 20, signal: cluster.signal },
    );
    await ipBatch(cluster, host, [
      `addr add ${o.subnet.ip.toString()}/32 dev flannel0`,
      `link set flannel0 mtu ${o.mtu}`,
      'link set flannel0 up',
      `route add ${o.network.toString()} dev flannel0 scope global`,
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
