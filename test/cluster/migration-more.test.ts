/**
 * Migrating from Go flannel to flannel-ts and back, the backends migration.test.ts leaves out:
 * dual-stack vxlan (flannel.1 and flannel-v6.1, the two-family lease, ip6tables chains), udp
 * (whose data path lives in Go's process, so the swap has a gap: measured and bounded) and
 * extension (Go's lease with PreStartupCommand's output as BackendData, the commands run again).
 * Host 1 is "a Go flannel host" (go-flannel-state.ts), host 2 runs flannel-ts. Needs root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { parseSubnetEnv } from './agent.js';
import {
  NETWORK_V4,
  NETWORK_V6,
  expectedHostState,
  hostFacts,
  networkConfig,
  readLeases,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
} from './datapath-checks.js';
import {
  assertGoChains6Kept,
  assertGoVxlanDevicesAdopted,
  assertGoChainsKept,
  etcdLeaseOf,
  flannelRuleLines,
  flannelRuleLines6,
  goChainLines,
  goChainLines6,
  goDualLeaseKey,
  goExtensionLeaseValue,
  goLeaseKey,
  goPrivatePath,
  goSubnetEnv,
  goSubnetEnvDual,
  goUdpLeaseValue,
  goVxlanDualLeaseValue,
  layGoChains,
  layGoChains6,
  layGoHostGwPeer,
  layGoVxlanDevice,
  layGoVxlanPeer,
  layGoVxlanV6Device,
  layGoVxlanV6Peer,
  putGoLease,
  putGoLeaseAt,
  startGoUdpProxy,
  writeGoSubnetEnv,
  type GoUdpProxy,
} from './go-flannel-state.js';
import { createCluster, type Cluster } from './harness.js';
import { startIpMonitor } from './ip-monitor.js';
import { readAddresses, readLink, readRoutes, routeLine, type Family } from './kernel-state.js';
import { pingAll, podIp } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';
import { dataPathEvents, lossLine, startTimedPing, stillRunning } from './timed-ping.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const NETWORK = IPNetwork.parse(NETWORK_V4);
const NETWORK6 = IPNetwork.parse(NETWORK_V6);
/** Host 1's subnets and VtepMACs under Go flannel. */
const GO_SUBNET = IPNetwork.parse('10.5.77.0/24');
const GO_SUBNET6 = IPNetwork.parse('fc00:5:0:4d::/64');
const GO_MAC = '5a:9b:6c:cc:33:80';
const GO_MAC6 = '5a:9b:6c:cc:33:81';
const SUBNET_FILE = '/run/flannel/subnet.env';
const TUN_ADDON = fileURLToPath(new URL('../../native/tun.node', import.meta.url));

async function readEnv(cluster: Cluster, host: number): Promise<Record<string, string>> {
  return parseSubnetEnv(await readFile(goPrivatePath(cluster, host, SUBNET_FILE), 'utf8'));
}

/**
 * Dual-stack vxlan in etcd mode: Go's flannel.1 and flannel-v6.1 (its attributes: VNI 1, port
 * 8472, nolearning, local = the public address of each family, v6 MTU left to the kernel), the
 * lease under `<v4>&<v6>` with BackendData and BackendV6Data, per-peer entries in both families,
 * iptables and ip6tables chains.
 */
describe('migrating a dual-stack vxlan host from Go flannel to flannel-ts and back', { skip, timeout: 40_000 }, () => {
  const spec: DatapathSpec = { backend: 'vxlan', mode: 'dual' };
  const PINGS = 200;
  /**
   * The kernel's prefix route of Go's /128 address (Go adds the address without
   * IFA_F_NOPREFIXROUTE). Proto kernel: neither Go nor flannel-ts takes it for a peer route,
   * so it stays through the takeover (readHostState leaves it out).
   */
  const GO_V6_PREFIX_ROUTE = `${GO_SUBNET6.ip.toString()} dev flannel-v6.1`;
  const kernelRoutesOnV6Device = async () =>
    (await readRoutes(cluster, 1, 6)).filter((r) => r.dev === 'flannel-v6.1' && r.protocol === 'kernel' && !r.dst.startsWith('fe80:')).map(routeLine);
  let cluster: Cluster;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let key = '';
  let value = '';
  let goEnv = '';
  const ifindex: Record<string, number> = {};
  let measured = '';

  before(async () => {
    cluster = await createCluster({ hosts: 2, ipv6: true, privateDirs: ['/run/flannel'] });
    await cluster.putConfig(networkConfig(spec));
    const pub1 = cluster.hostAddress(1);
    const pub6 = cluster.hostAddress6(1);
    key = goDualLeaseKey(GO_SUBNET, GO_SUBNET6);
    value = goVxlanDualLeaseValue(pub1, pub6, GO_MAC, GO_MAC6);
    await putGoLeaseAt(cluster, key, value);
    // Go (v0.20.x) writes FLANNEL_MTU = underlay − 50 whatever the families.
    goEnv = goSubnetEnvDual(NETWORK, GO_SUBNET, NETWORK6, GO_SUBNET6, 1450, true);
    await writeGoSubnetEnv(goPrivatePath(cluster, 1, SUBNET_FILE), goEnv);
    await layGoVxlanDevice(cluster, 1, { subnet: GO_SUBNET, mac: GO_MAC, mtu: 1450 });
    await layGoVxlanV6Device(cluster, 1, { subnet6: GO_SUBNET6, mac: GO_MAC6 });
    await layGoChains(cluster, 1, NETWORK, GO_SUBNET);
    await layGoChains6(cluster, 1, NETWORK6, GO_SUBNET6);
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(cluster, 1)));
    facts.push({ host: 1, net4: GO_SUBNET, net6: GO_SUBNET6, pub4: pub1, pub6, mac4: GO_MAC, mac6: GO_MAC6 });
    const a2 = cluster.startAgent(2, { args: ['-ip-masq'] });
    const env2 = await waitForSubnetEnv(a2, 'dual');
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    const f2 = await hostFacts(cluster, 2, spec, env2);
    facts.push(f2);
    assert.ok(f2.net4 && f2.net6 && f2.mac4 && f2.mac6 && f2.pub4 && f2.pub6);
    await layGoVxlanPeer(cluster, 1, { subnet: f2.net4, mac: f2.mac4, publicIP: f2.pub4 });
    await layGoVxlanV6Peer(cluster, 1, { subnet6: f2.net6, mac: f2.mac6, publicIPv6: f2.pub6 });
    for (const dev of ['flannel.1', 'flannel-v6.1']) ifindex[dev] = (await readLink(cluster, 1, dev))?.ifindex ?? 0;
  });

  after(async () => {
    if (measured) console.log(`# dual-stack vxlan migration: ${measured}`);
    await cluster?.destroy();
  });

  it('a Go flannel host and a flannel-ts host reach each other over IPv4 and IPv6', async () => {
    await waitForHostState(cluster, 2, spec, expectedHostState(cluster, spec, 2, facts));
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    assert.deepEqual(await kernelRoutesOnV6Device(), [GO_V6_PREFIX_ROUTE], "Go's /128 prefix route (proto kernel)");
    await pingAll(pods, [4, 6]);
  });

  it('flannel-ts takes over under IPv4 and IPv6 pings: same subnets, MACs, ifindexes and chains, nothing lost', async () => {
    const [pod1, pod2] = pods;
    assert.ok(pod1 && pod2);
    const monitor = await startIpMonitor(cluster, 1);
    const pings = ([4, 6] as Family[]).map((f) => startTimedPing(pod1, podIp(pod2, f), PINGS));
    await new Promise((r) => setTimeout(r, 300));
    const agent = cluster.startAgent(1, { args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    for (const p of pings) assert.ok(await stillRunning(p), 'the ping streams outlast the takeover (raise PINGS)');
    const peer = facts[1];
    assert.ok(peer?.net4 && peer.net6);
    const nets = [GO_SUBNET.ip.toString(), GO_SUBNET6.ip.toString(), peer.net4.toString(), peer.net6.toString()];
    const touched = dataPathEvents(await monitor.stop(), ['flannel.1', 'flannel-v6.1'], nets);
    const [p4, p6] = await Promise.all(pings);
    assert.ok(p4 && p6);
    measured = `IPv4 ${lossLine(p4)}; IPv6 ${lossLine(p6)}; data-path kernel events: ${touched.length} (${touched.join(' | ')})`;
    assert.equal(p4.received, p4.sent, `IPv4 pings lost:\n${p4.output.split('\n').slice(-3).join('\n')}`);
    assert.equal(p6.received, p6.sent, `IPv6 pings lost:\n${p6.output.split('\n').slice(-3).join('\n')}`);
    assert.deepEqual(touched, [], 'no kernel event on the data path during the takeover');
    assert.deepEqual(await kernelRoutesOnV6Device(), [GO_V6_PREFIX_ROUTE], 'the /128 prefix route (proto kernel) kept, as Go keeps it');

    assert.deepEqual([...(await readLeases(cluster))].filter(([k]) => k.includes('10.5.77.')), [[key, value]], 'one lease for host 1, the value Go wrote');
    await assertGoVxlanDevicesAdopted(cluster, 1, agent, { 'flannel.1': GO_MAC, 'flannel-v6.1': GO_MAC6 }, ifindex);
    const env = await readEnv(cluster, 1);
    assert.equal(env.FLANNEL_SUBNET, '10.5.77.1/24');
    assert.equal(env.FLANNEL_IPV6_SUBNET, 'fc00:5:0:4d::1/64');
    await assertGoChains6Kept(cluster, 1, NETWORK6, GO_SUBNET6);
    await assertGoChainsKept(cluster, 1, NETWORK, GO_SUBNET);
    assert.deepEqual(await agent.readErrors(), []);
  });

  it("rolls back: SIGTERM leaves Go's lease, devices, entries and chains in both families", async () => {
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.equal((await readLeases(cluster)).get(key), value, "the lease value in Go flannel's byte format");
    const lease = await etcdLeaseOf(cluster, key);
    assert.equal(lease?.granted, 86_400, 'the key under a 24 h etcd lease');
    const env = await readEnv(cluster, 1);
    const want = parseSubnetEnv(goEnv);
    // flannel-ts writes the smaller of the two devices' MTUs (1430: IPv6 underlay − 70); Go
    // v0.20.x writes underlay − 50 and rewrites the file when it starts.
    assert.deepEqual({ ...env, FLANNEL_MTU: want.FLANNEL_MTU }, want, "subnet.env as Go flannel reads it");
    measured += `; FLANNEL_MTU Go ${want.FLANNEL_MTU}, flannel-ts ${env.FLANNEL_MTU}`;
    const v4 = await readLink(cluster, 1, 'flannel.1');
    const v6 = await readLink(cluster, 1, 'flannel-v6.1');
    assert.ok(v4 && v6);
    assert.deepEqual(
      { id: v4.data.id, port: v4.data.port, learning: v4.data.learning, local: v4.data.local, mtu: v4.mtu, mac: v4.address },
      { id: 1, port: 8472, learning: false, local: cluster.hostAddress(1), mtu: 1450, mac: GO_MAC },
    );
    assert.deepEqual(
      { id: v6.data.id, port: v6.data.port, learning: v6.data.learning, local: v6.data.local6 ?? v6.data.local, mtu: v6.mtu, mac: v6.address },
      { id: 1, port: 8472, learning: false, local: cluster.hostAddress6(1), mtu: 1430, mac: GO_MAC6 },
    );
    assert.deepEqual(await readAddresses(cluster, 1, 'flannel.1', 4), ['10.5.77.0/32']);
    assert.deepEqual(await readAddresses(cluster, 1, 'flannel-v6.1', 6), ['fc00:5:0:4d::/128']);
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts), 1000);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), goChainLines(NETWORK, GO_SUBNET).nat);
    assert.deepEqual(await flannelRuleLines6(cluster, 1, 'nat'), goChainLines6(NETWORK6, GO_SUBNET6).nat);
    assert.deepEqual(await flannelRuleLines6(cluster, 1, 'filter'), goChainLines6(NETWORK6, GO_SUBNET6).filter);
    await pingAll(pods, [4, 6]);
  });
});

/**
 * udp: Go's data path is its process (flannel0 is a TUN device that goes with it), so stopping
 * Go flanneld stops pod traffic until flannel-ts has made its own flannel0. What must hold: the
 * lease (Go's value: no BackendType) and subnet kept, and the ping recovering within a bound.
 * Go's process is played by a stand-in with the same device, port and wire format.
 */
const tunSkip = skip || (!existsSync(TUN_ADDON) && !process.env.FLANNEL_TS_PACKAGED && `needs the TUN addon (${TUN_ADDON}): make -C native`);
describe('migrating a udp host from Go flannel to flannel-ts and back', { skip: tunSkip, timeout: 45_000 }, () => {
  const PINGS = 250;
  /** The bound on the outage of a swap (Node start, TUN device, lease, peer table). */
  const MAX_GAP_MS = 5000;
  let cluster: Cluster;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let go: GoUdpProxy | undefined;
  let value = '';
  let goEnv = '';
  const measured: string[] = [];
  const startGo = () => {
    const peer = facts[1];
    assert.ok(peer?.net4 && peer.pub4);
    return startGoUdpProxy(cluster, 1, { subnet: GO_SUBNET, network: NETWORK, mtu: 1472, peers: [{ subnet: peer.net4, publicIP: peer.pub4 }] });
  };

  before(async () => {
    cluster = await createCluster({ hosts: 2, privateDirs: ['/run/flannel'] });
    await cluster.putConfig({ Network: NETWORK_V4, Backend: { Type: 'udp' } });
    value = goUdpLeaseValue(cluster.hostAddress(1));
    await putGoLease(cluster, GO_SUBNET, value);
    goEnv = goSubnetEnv(NETWORK, GO_SUBNET, 1472, true);
    await writeGoSubnetEnv(goPrivatePath(cluster, 1, SUBNET_FILE), goEnv);
    await layGoChains(cluster, 1, NETWORK, GO_SUBNET);
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(cluster, 1)));
    facts.push({ host: 1, net4: GO_SUBNET, net6: undefined, pub4: cluster.hostAddress(1), pub6: undefined, mac4: undefined, mac6: undefined });
    const a2 = cluster.startAgent(2, { args: ['-ip-masq'] });
    const env2 = await waitForSubnetEnv(a2, 'v4');
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    facts.push(await hostFacts(cluster, 2, { backend: 'host-gw', mode: 'v4' }, env2));
    go = await startGo();
  });

  after(async () => {
    if (measured.length > 0) console.log(`# udp migration: ${measured.join('; ')}`);
    await go?.stop();
    await cluster?.destroy();
  });

  it("Go flannel's udp host and a flannel-ts host reach each other", async () => {
    const tun = await readLink(cluster, 1, 'flannel0');
    assert.deepEqual({ kind: tun?.kind, mtu: tun?.mtu }, { kind: 'tun', mtu: 1472 });
    await pingAll(pods, [4]);
  });

  it('flannel-ts takes over: same lease and subnet, the ping back within the bound', async () => {
    const [pod1, pod2] = pods;
    assert.ok(pod1 && pod2 && go);
    const ping = startTimedPing(pod1, podIp(pod2, 4), PINGS);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await go.stop();
    go = undefined;
    assert.equal(await readLink(cluster, 1, 'flannel0'), undefined, "Go's flannel0 goes with its process");
    const agent = cluster.startAgent(1, { args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    const leaseMs = Date.now() - t0;
    assert.ok(await stillRunning(ping), 'the ping stream outlasts the swap (raise PINGS)');
    const p = await ping;
    measured.push(`Go -> flannel-ts: ${lossLine(p)} (lease after ${leaseMs} ms)`);
    assert.ok(p.repliesAfterGap > 0 && p.maxGapMs < MAX_GAP_MS, `the ping recovers within ${MAX_GAP_MS} ms: ${lossLine(p)}`);
    assert.ok(p.output.includes(`icmp_seq=${PINGS} `), 'the last ping answered');

    assert.deepEqual([...(await readLeases(cluster))].filter(([k]) => k.includes('10.5.77.')), [[goLeaseKey(GO_SUBNET), value]]);
    assert.equal((await readLeases(cluster)).size, 2, 'no second lease for host 1');
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv), 'subnet.env: same subnet, MTU 1472');
    const tun = await readLink(cluster, 1, 'flannel0');
    assert.deepEqual({ kind: tun?.kind, mtu: tun?.mtu }, { kind: 'tun', mtu: 1472 });
    assert.deepEqual(await readAddresses(cluster, 1, 'flannel0', 4), ['10.5.77.0/32']);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), goChainLines(NETWORK, GO_SUBNET).nat);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), goChainLines(NETWORK, GO_SUBNET).filter);
    assert.deepEqual(await agent.readErrors(), []);
  });

  it('rolls back: SIGTERM leaves the lease and subnet.env in Go format; Go flannel takes over within the bound', async () => {
    const [pod1, pod2] = pods;
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(pod1 && pod2 && agent);
    const ping = startTimedPing(pod1, podIp(pod2, 4), PINGS);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.equal(await agent.stop('SIGTERM'), 0);
    const stopMs = Date.now() - t0;
    // Go flanneld starts at once (what it reads is checked below, while the ping runs).
    go = await startGo();
    const goMs = Date.now() - t0;
    assert.equal((await readLeases(cluster)).get(goLeaseKey(GO_SUBNET)), value);
    assert.equal((await etcdLeaseOf(cluster, goLeaseKey(GO_SUBNET)))?.granted, 86_400);
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv));
    assert.ok(await stillRunning(ping), 'the ping stream outlasts the swap (raise PINGS)');
    const p = await ping;
    measured.push(`flannel-ts -> Go: ${lossLine(p)} (flannel-ts exited after ${stopMs} ms, Go's flannel0 up after ${goMs} ms)`);
    assert.ok(p.repliesAfterGap > 0 && p.maxGapMs < MAX_GAP_MS, `the ping recovers within ${MAX_GAP_MS} ms: ${lossLine(p)}`);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), goChainLines(NETWORK, GO_SUBNET).nat);
  });
});

/**
 * extension: Go's lease carries PreStartupCommand's output as BackendData (a JSON string);
 * host 1's routes are what its SubnetAddCommand made. flannel-ts runs the commands again as
 * configured, gets the same output, so the lease, the subnet and the route stay.
 */
describe('migrating an extension host from Go flannel to flannel-ts and back', { skip, timeout: 30_000 }, () => {
  const spec: DatapathSpec = { backend: 'host-gw', mode: 'v4' };
  const PINGS = 150;
  const BACKEND = {
    Type: 'extension',
    PreStartupCommand: 'printf extdata-77',
    PostStartupCommand: 'echo post-startup SUBNET=$SUBNET PUBLIC_IP=$PUBLIC_IP',
    SubnetAddCommand: 'ip route replace $SUBNET via $PUBLIC_IP',
    SubnetRemoveCommand: 'ip route del $SUBNET via $PUBLIC_IP',
  };
  let cluster: Cluster;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let value = '';
  let goEnv = '';
  let measured = '';

  before(async () => {
    cluster = await createCluster({ hosts: 2, privateDirs: ['/run/flannel'] });
    await cluster.putConfig({ Network: NETWORK_V4, Backend: BACKEND });
    const pub1 = cluster.hostAddress(1);
    value = goExtensionLeaseValue(pub1, 'extdata-77');
    await putGoLease(cluster, GO_SUBNET, value);
    goEnv = goSubnetEnv(NETWORK, GO_SUBNET, 1500, true);
    await writeGoSubnetEnv(goPrivatePath(cluster, 1, SUBNET_FILE), goEnv);
    await layGoChains(cluster, 1, NETWORK, GO_SUBNET);
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(cluster, 1)));
    facts.push({ host: 1, net4: GO_SUBNET, net6: undefined, pub4: pub1, pub6: undefined, mac4: undefined, mac6: undefined });
    const a2 = cluster.startAgent(2, { args: ['-ip-masq'] });
    const env2 = await waitForSubnetEnv(a2, 'v4');
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    const f2 = await hostFacts(cluster, 2, spec, env2);
    facts.push(f2);
    assert.ok(f2.net4 && f2.pub4);
    // What Go's SubnetAddCommand made on host 1 for host 2.
    await layGoHostGwPeer(cluster, 1, { subnet: f2.net4, publicIP: f2.pub4 });
  });

  after(async () => {
    if (measured) console.log(`# extension migration: ${measured}`);
    await cluster?.destroy();
  });

  it('a Go flannel host and a flannel-ts host reach each other', async () => {
    await waitForHostState(cluster, 2, spec, expectedHostState(cluster, spec, 2, facts));
    await pingAll(pods, [4]);
  });

  it('flannel-ts takes over: the commands run as configured, same lease and BackendData, same subnet, no packet lost', async () => {
    const [pod1, pod2] = pods;
    assert.ok(pod1 && pod2);
    const ping = startTimedPing(pod1, podIp(pod2, 4), PINGS);
    await new Promise((r) => setTimeout(r, 300));
    const agent = cluster.startAgent(1, { args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    await agent.waitForLog(/ran SubnetAddCommand "ip route replace \$SUBNET via \$PUBLIC_IP"/, { timeoutMs: 5000 });
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    assert.ok(await stillRunning(ping), 'the ping stream outlasts the takeover (raise PINGS)');
    const p = await ping;
    measured = lossLine(p);
    assert.equal(p.received, p.sent, `pings lost:\n${p.output.split('\n').slice(-3).join('\n')}`);
    const log = await agent.readLog();
    assert.ok(log.includes(`output: "post-startup SUBNET=${GO_SUBNET.toString()} PUBLIC_IP=${cluster.hostAddress(1)}"`), 'PostStartupCommand saw Go\'s subnet');
    assert.equal((log.match(/ran SubnetAddCommand/g) ?? []).length, 1, 'SubnetAddCommand once, for the one peer');
    assert.deepEqual([...(await readLeases(cluster))].filter(([k]) => k.includes('10.5.77.')), [[goLeaseKey(GO_SUBNET), value]], "Go's lease value, BackendData kept");
    assert.equal((await readLeases(cluster)).size, 2, 'no second lease for host 1');
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv), 'subnet.env: same subnet');
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), goChainLines(NETWORK, GO_SUBNET).nat);
    assert.deepEqual(await agent.readErrors(), []);
  });

  it("rolls back: SIGTERM leaves Go's lease, subnet.env and the routes", async () => {
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.equal((await readLeases(cluster)).get(goLeaseKey(GO_SUBNET)), value);
    assert.equal((await etcdLeaseOf(cluster, goLeaseKey(GO_SUBNET)))?.granted, 86_400);
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv));
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts), 1000);
    await pingAll(pods, [4]);
  });
});
