/**
 * Migrating from Go flannel to flannel-ts and back in kube mode (`-kube-subnet-mgr`), the cases
 * migration.test.ts leaves out: dual-stack vxlan and host-gw. The stand-in API server holds
 * node-1 as Go flanneld leaves it (spec.podCIDR / spec.podCIDRs, flannel's annotations in Go's
 * byte format, NetworkUnavailable=False); host 1 holds Go's devices, peer entries, iptables and
 * ip6tables chains and subnet.env (go-flannel-state.ts); host 2 runs flannel-ts. flannel-ts takes
 * over host 1 under continuous pod-to-pod pings and is stopped again (SIGTERM). Needs root.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { poll } from '../support/poll.js';
import { parseSubnetEnv } from './agent.js';
import {
  NETWORK_V4,
  NETWORK_V6,
  expectedHostState,
  hostFacts,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
} from './datapath-checks.js';
import {
  assertGoChains6Kept,
  assertGoVxlanDevicesAdopted,
  assertGoChainsKept,
  flannelRuleLines,
  flannelRuleLines6,
  goChainLines6,
  goPrivatePath,
  goSubnetEnv,
  goSubnetEnvDual,
  layGoChains,
  layGoChains6,
  layGoHostGwPeer,
  layGoVxlanDevice,
  layGoVxlanPeer,
  layGoVxlanV6Device,
  layGoVxlanV6Peer,
  writeGoSubnetEnv,
} from './go-flannel-state.js';
import { createCluster, type Cluster } from './harness.js';
import { startIpMonitor } from './ip-monitor.js';
import { readAddresses, readLink, readRoutes, type Family } from './kernel-state.js';
import { kubeAgentArgs, startClusterKubeApi, type ClusterKubeApi } from './kube-api-node.js';
import { pingAll, podIp } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';
import { dataPathEvents, lossLine, startTimedPing, stillRunning, type TimedPing } from './timed-ping.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const P = 'flannel.alpha.coreos.com/';
const NETWORK = IPNetwork.parse(NETWORK_V4);
const NETWORK6 = IPNetwork.parse(NETWORK_V6);
/** Node i's pod CIDRs, inside the networks datapath-checks reads routes of. */
const cidr = (i: number) => IPNetwork.parse(`10.5.${i}.0/24`);
const cidr6 = (i: number) => IPNetwork.parse(`fc00:5:0:${i}::/64`);
const GO_MAC = '5a:9b:6c:cc:44:80';
const GO_MAC6 = '5a:9b:6c:cc:44:81';
const SUBNET_FILE = '/run/flannel/subnet.env';
const PINGS = 200;
/** NetworkUnavailable=False as Go flanneld's CompleteLease sets it. */
const FLANNEL_IS_UP = { type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node' };

async function readEnv(cluster: Cluster, host: number): Promise<Record<string, string>> {
  return parseSubnetEnv(await readFile(goPrivatePath(cluster, host, SUBNET_FILE), 'utf8'));
}

/** Asserts that no ping of `p` was lost. */
function assertNoLoss(p: TimedPing, family: Family): void {
  assert.equal(p.received, p.sent, `IPv${family} pings lost:\n${p.output.split('\n').slice(-3).join('\n')}`);
}

/** The test cluster with the API server, node-1 as Go flannel left it and node-2 bare. */
interface KubeWorld {
  cluster: Cluster;
  api: ClusterKubeApi;
  annotationsOf(name: string): Record<string, string>;
  node1(): { podCIDR: string | undefined; podCIDRs: string[] | undefined; conditions: Record<string, unknown>[] };
}

async function kubeWorld(o: {
  ipv6: boolean;
  netConf: unknown;
  podCIDRs: (i: number) => string[];
  goAnnotations: (cluster: Cluster) => Record<string, string>;
}): Promise<KubeWorld> {
  const cluster = await createCluster({ hosts: 2, etcd: false, ipv6: o.ipv6, privateDirs: ['/run/flannel'] });
  const api = await startClusterKubeApi(cluster);
  await api.writeNetConf(o.netConf);
  // As Go flanneld leaves node-1: its annotations (patched through nodes/status) and NetworkUnavailable=False.
  api.server.store.create({ name: 'node-1', podCIDRs: o.podCIDRs(1), annotations: o.goAnnotations(cluster), status: { conditions: [FLANNEL_IS_UP] } });
  api.server.store.create({ name: 'node-2', podCIDRs: o.podCIDRs(2) });
  return {
    cluster,
    api,
    annotationsOf: (name) => Object.fromEntries(Object.entries(api.server.store.get(name)?.metadata.annotations ?? {}).filter(([k]) => k.startsWith(P))),
    node1: () => {
      const n = api.server.store.get('node-1');
      return { podCIDR: n?.spec?.podCIDR, podCIDRs: n?.spec?.podCIDRs, conditions: n?.status?.conditions ?? [] };
    },
  };
}

/** node-1's NetworkUnavailable condition without its timestamps (Go rewrites them at every start). */
function networkCondition(conditions: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return conditions.filter((c) => c.type === 'NetworkUnavailable').map(({ type, status, reason, message }) => ({ type, status, reason, message }));
}

/**
 * Dual-stack vxlan: node-1 with spec.podCIDRs of both families and Go's six annotations
 * (backend-data and backend-v6-data `{"VNI":1,"VtepMAC":"…"}`, public-ip, public-ipv6,
 * backend-type, kube-subnet-manager); host 1 with flannel.1 and flannel-v6.1, both families'
 * peer entries and chains.
 */
describe('migrating a dual-stack vxlan node from Go flannel to flannel-ts and back (kube mode)', { skip, timeout: 40_000 }, () => {
  const spec: DatapathSpec = { backend: 'vxlan', mode: 'dual' };
  let w: KubeWorld;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let goAnnotations: Record<string, string> = {};
  let goEnv = '';
  const ifindex: Record<string, number> = {};
  let measured = '';

  before(async () => {
    const netConf = { Network: NETWORK_V4, EnableIPv6: true, IPv6Network: NETWORK_V6, Backend: { Type: 'vxlan' } };
    w = await kubeWorld({
      ipv6: true,
      netConf,
      podCIDRs: (i) => [cidr(i).toString(), cidr6(i).toString()],
      // Go prints the addresses with net.IP.String(): compressed, lower case, as the harness does.
      goAnnotations: (cluster) => ({
        [`${P}backend-data`]: `{"VNI":1,"VtepMAC":"${GO_MAC}"}`,
        [`${P}backend-type`]: 'vxlan',
        [`${P}backend-v6-data`]: `{"VNI":1,"VtepMAC":"${GO_MAC6}"}`,
        [`${P}kube-subnet-manager`]: 'true',
        [`${P}public-ip`]: cluster.hostAddress(1),
        [`${P}public-ipv6`]: cluster.hostAddress6(1),
      }),
    });
    const { cluster, api } = w;
    goAnnotations = w.annotationsOf('node-1');
    assert.equal(Object.keys(goAnnotations).length, 6);
    goEnv = goSubnetEnvDual(NETWORK, cidr(1), NETWORK6, cidr6(1), 1450, true);
    await writeGoSubnetEnv(goPrivatePath(cluster, 1, SUBNET_FILE), goEnv);
    await layGoVxlanDevice(cluster, 1, { subnet: cidr(1), mac: GO_MAC, mtu: 1450 });
    await layGoVxlanV6Device(cluster, 1, { subnet6: cidr6(1), mac: GO_MAC6 });
    await layGoChains(cluster, 1, NETWORK, cidr(1));
    await layGoChains6(cluster, 1, NETWORK6, cidr6(1));
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(cluster, 1)));
    facts.push({ host: 1, net4: cidr(1), net6: cidr6(1), pub4: cluster.hostAddress(1), pub6: cluster.hostAddress6(1), mac4: GO_MAC, mac6: GO_MAC6 });
    const a2 = cluster.startAgent(2, { args: kubeAgentArgs(api, ['-ip-masq']), env: { NODE_NAME: 'node-2' } });
    const env2 = await waitForSubnetEnv(a2, 'dual', 15_000);
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    const f2 = await hostFacts(cluster, 2, spec, env2);
    facts.push(f2);
    assert.ok(f2.net4 && f2.net6 && f2.mac4 && f2.mac6 && f2.pub4 && f2.pub6);
    // What Go flanneld on host 1 programs for node-2, from node-2's annotations.
    await poll(() => w.annotationsOf('node-2')[`${P}backend-v6-data`], { what: 'node-2 annotations', timeoutMs: 10_000 });
    const a = w.annotationsOf('node-2');
    assert.deepEqual(JSON.parse(a[`${P}backend-data`] ?? '{}'), { VNI: 1, VtepMAC: f2.mac4 });
    assert.deepEqual(JSON.parse(a[`${P}backend-v6-data`] ?? '{}'), { VNI: 1, VtepMAC: f2.mac6 });
    assert.equal(a[`${P}public-ipv6`], f2.pub6);
    await layGoVxlanPeer(cluster, 1, { subnet: f2.net4, mac: f2.mac4, publicIP: f2.pub4 });
    await layGoVxlanV6Peer(cluster, 1, { subnet6: f2.net6, mac: f2.mac6, publicIPv6: f2.pub6 });
    for (const dev of ['flannel.1', 'flannel-v6.1']) ifindex[dev] = (await readLink(cluster, 1, dev))?.ifindex ?? 0;
  });

  after(async () => {
    if (measured) console.log(`# kube-mode dual-stack vxlan migration: ${measured}`);
    await w?.cluster.destroy();
  });

  it('a Go flannel node and a flannel-ts node reach each other over IPv4 and IPv6', async () => {
    await waitForHostState(w.cluster, 2, spec, expectedHostState(w.cluster, spec, 2, facts), 10_000);
    await waitForHostState(w.cluster, 1, spec, expectedHostState(w.cluster, spec, 1, facts));
    await pingAll(pods, [4, 6], 10_000);
  });

  it('flannel-ts takes over under IPv4 and IPv6 pings: same podCIDRs, VtepMACs, devices, annotations and chains, nothing lost', async () => {
    const { cluster, api } = w;
    const [pod1, pod2] = pods;
    const peer = facts[1];
    assert.ok(pod1 && pod2 && peer?.net4 && peer.net6);
    const monitor = await startIpMonitor(cluster, 1);
    const pings = ([4, 6] as Family[]).map((f) => startTimedPing(pod1, podIp(pod2, f), PINGS));
    await new Promise((r) => setTimeout(r, 300));
    const agent = cluster.startAgent(1, { args: kubeAgentArgs(api, ['-ip-masq', `-subnet-file=${SUBNET_FILE}`]), env: { NODE_NAME: 'node-1' } });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    await agent.waitForLog(/set condition NetworkUnavailable=False/, { timeoutMs: 5000 });
    for (const p of pings) assert.ok(await stillRunning(p), 'the ping streams outlast the takeover (raise PINGS)');
    const nets = [cidr(1).ip.toString(), cidr6(1).ip.toString(), peer.net4.toString(), peer.net6.toString()];
    const touched = dataPathEvents(await monitor.stop(), ['flannel.1', 'flannel-v6.1'], nets);
    const [p4, p6] = await Promise.all(pings);
    assert.ok(p4 && p6);
    measured = `IPv4 ${lossLine(p4)}; IPv6 ${lossLine(p6)}; data-path kernel events: ${touched.length}`;
    assertNoLoss(p4, 4);
    assertNoLoss(p6, 6);
    assert.deepEqual(touched, [], 'no kernel event on the data path during the takeover');

    const node1 = w.node1();
    assert.deepEqual([node1.podCIDR, node1.podCIDRs], [cidr(1).toString(), [cidr(1).toString(), cidr6(1).toString()]], 'same podCIDRs');
    assert.deepEqual(w.annotationsOf('node-1'), goAnnotations, "node-1's annotations byte for byte as Go flannel wrote them");
    assert.match(await agent.readLog(), /node "node-1" already carries this lease's annotations; not patching/);
    // The condition is rewritten (fresh timestamps), as Go's CompleteLease does at every start.
    assert.deepEqual(networkCondition(w.node1().conditions), [FLANNEL_IS_UP]);
    await assertGoVxlanDevicesAdopted(cluster, 1, agent, { 'flannel.1': GO_MAC, 'flannel-v6.1': GO_MAC6 }, ifindex);
    const env = await readEnv(cluster, 1);
    assert.equal(env.FLANNEL_SUBNET, '10.5.1.1/24');
    assert.equal(env.FLANNEL_IPV6_SUBNET, 'fc00:5:0:1::1/64');
    await assertGoChains6Kept(cluster, 1, NETWORK6, cidr6(1));
    await assertGoChainsKept(cluster, 1, NETWORK, cidr(1));
    assert.deepEqual(await agent.readErrors(), []);
  });

  it('rolls back: SIGTERM leaves node-1, the devices, entries, chains and subnet.env as Go flannel expects them', async () => {
    const { cluster } = w;
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.deepEqual(w.annotationsOf('node-1'), goAnnotations);
    assert.deepEqual(w.node1().podCIDRs, [cidr(1).toString(), cidr6(1).toString()]);
    const env = await readEnv(cluster, 1);
    const want = parseSubnetEnv(goEnv);
    // flannel-ts writes the smaller device MTU (1430: IPv6 underlay − 70); Go v0.20.x writes
    // underlay − 50 and rewrites the file when it starts.
    assert.deepEqual({ ...env, FLANNEL_MTU: want.FLANNEL_MTU }, want, 'subnet.env as Go flannel reads it');
    measured += `; FLANNEL_MTU Go ${want.FLANNEL_MTU}, flannel-ts ${env.FLANNEL_MTU}`;
    const v4 = await readLink(cluster, 1, 'flannel.1');
    const v6 = await readLink(cluster, 1, 'flannel-v6.1');
    assert.ok(v4 && v6);
    assert.deepEqual(
      { ifindex: v4.ifindex, id: v4.data.id, port: v4.data.port, learning: v4.data.learning, local: v4.data.local, mtu: v4.mtu, mac: v4.address },
      { ifindex: ifindex['flannel.1'], id: 1, port: 8472, learning: false, local: cluster.hostAddress(1), mtu: 1450, mac: GO_MAC },
    );
    assert.deepEqual(
      { ifindex: v6.ifindex, id: v6.data.id, port: v6.data.port, learning: v6.data.learning, local: v6.data.local6 ?? v6.data.local, mtu: v6.mtu, mac: v6.address },
      { ifindex: ifindex['flannel-v6.1'], id: 1, port: 8472, learning: false, local: cluster.hostAddress6(1), mtu: 1430, mac: GO_MAC6 },
    );
    assert.deepEqual(await readAddresses(cluster, 1, 'flannel.1', 4), ['10.5.1.0/32']);
    assert.deepEqual(await readAddresses(cluster, 1, 'flannel-v6.1', 6), ['fc00:5:0:1::/128']);
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts), 1000);
    await assertGoChainsKept(cluster, 1, NETWORK, cidr(1));
    assert.deepEqual(await flannelRuleLines6(cluster, 1, 'nat'), goChainLines6(NETWORK6, cidr6(1)).nat);
    assert.deepEqual(await flannelRuleLines6(cluster, 1, 'filter'), goChainLines6(NETWORK6, cidr6(1)).filter);
    await pingAll(pods, [4, 6]);
  });

  it("devices gone (a reboot): flannel-ts re-creates them with the VtepMACs of node-1's annotations, as Go's GetStoredMacAddresses does", async () => {
    const { cluster, api } = w;
    await cluster.exec(1, ['ip', '-batch', '-'], { input: 'link del flannel.1\nlink del flannel-v6.1\n' });
    const agent = cluster.startAgent(1, { args: kubeAgentArgs(api, ['-ip-masq', `-subnet-file=${SUBNET_FILE}`]), env: { NODE_NAME: 'node-1' } });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    assert.equal((await readLink(cluster, 1, 'flannel.1'))?.address, GO_MAC);
    assert.equal((await readLink(cluster, 1, 'flannel-v6.1'))?.address, GO_MAC6);
    assert.deepEqual(w.annotationsOf('node-1'), goAnnotations, 'annotations not rewritten: peers keep their entries');
    await pingAll(pods, [4, 6]);
    assert.deepEqual(await agent.readErrors(), []);
    assert.equal(await agent.stop('SIGTERM'), 0);
  });
});

/**
 * host-gw, IPv4: Go's annotations for a backend without data (backend-data "null"), a direct
 * route to node-2's podCIDR via its public IP, the chains and subnet.env (MTU = the underlay's).
 */
describe('migrating a host-gw node from Go flannel to flannel-ts and back (kube mode)', { skip, timeout: 30_000 }, () => {
  const spec: DatapathSpec = { backend: 'host-gw', mode: 'v4' };
  let w: KubeWorld;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let goAnnotations: Record<string, string> = {};
  let goEnv = '';
  let measured = '';
  /** All of host 1's IPv4 routes (main table). */
  const routeCount = async () => (await readRoutes(w.cluster, 1, 4)).length;

  before(async () => {
    w = await kubeWorld({
      ipv6: false,
      netConf: { Network: NETWORK_V4, Backend: { Type: 'host-gw' } },
      podCIDRs: (i) => [cidr(i).toString()],
      // A backend without data: Go marshals a nil json.RawMessage, "null".
      goAnnotations: (cluster) => ({
        [`${P}backend-data`]: 'null',
        [`${P}backend-type`]: 'host-gw',
        [`${P}kube-subnet-manager`]: 'true',
        [`${P}public-ip`]: cluster.hostAddress(1),
      }),
    });
    const { cluster, api } = w;
    goAnnotations = w.annotationsOf('node-1');
    assert.equal(Object.keys(goAnnotations).length, 4);
    goEnv = goSubnetEnv(NETWORK, cidr(1), 1500, true);
    await writeGoSubnetEnv(goPrivatePath(cluster, 1, SUBNET_FILE), goEnv);
    await layGoChains(cluster, 1, NETWORK, cidr(1));
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(cluster, 1)));
    facts.push({ host: 1, net4: cidr(1), net6: undefined, pub4: cluster.hostAddress(1), pub6: undefined, mac4: undefined, mac6: undefined });
    const a2 = cluster.startAgent(2, { args: kubeAgentArgs(api, ['-ip-masq']), env: { NODE_NAME: 'node-2' } });
    const env2 = await waitForSubnetEnv(a2, 'v4', 15_000);
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    const f2 = await hostFacts(cluster, 2, spec, env2);
    facts.push(f2);
    assert.ok(f2.net4 && f2.pub4);
    await poll(() => w.annotationsOf('node-2')[`${P}backend-type`], { what: 'node-2 annotations', timeoutMs: 10_000 });
    assert.deepEqual(w.annotationsOf('node-2'), { ...goAnnotations, [`${P}public-ip`]: f2.pub4 }, "node-2's annotations in Go's format");
    await layGoHostGwPeer(cluster, 1, { subnet: f2.net4, publicIP: f2.pub4 });
  });

  after(async () => {
    if (measured) console.log(`# kube-mode host-gw migration: ${measured}`);
    await w?.cluster.destroy();
  });

  it('a Go flannel node and a flannel-ts node reach each other', async () => {
    await waitForHostState(w.cluster, 2, spec, expectedHostState(w.cluster, spec, 2, facts), 10_000);
    await pingAll(pods, [4], 10_000);
  });

  it('flannel-ts takes over under a ping: same podCIDR, route, annotations and chains, nothing lost', async () => {
    const { cluster, api } = w;
    const [pod1, pod2] = pods;
    const peer = facts[1];
    assert.ok(pod1 && pod2 && peer?.net4);
    const routesBefore = await routeCount();
    const monitor = await startIpMonitor(cluster, 1);
    const ping = startTimedPing(pod1, podIp(pod2, 4), 150);
    await new Promise((r) => setTimeout(r, 300));
    const agent = cluster.startAgent(1, { args: kubeAgentArgs(api, ['-ip-masq', `-subnet-file=${SUBNET_FILE}`]), env: { NODE_NAME: 'node-1' } });
    await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    await agent.waitForLog(/set condition NetworkUnavailable=False/, { timeoutMs: 5000 });
    assert.ok(await stillRunning(ping), 'the ping stream outlasts the takeover (raise its count)');
    const touched = dataPathEvents(await monitor.stop(), [], [peer.net4.toString()]);
    const p = await ping;
    measured = `IPv4 ${lossLine(p)}; data-path kernel events: ${touched.length}`;
    assertNoLoss(p, 4);
    assert.deepEqual(touched, [], "no kernel event on the route to node-2's podCIDR during the takeover");
    assert.equal(await routeCount(), routesBefore, 'no route added or removed');
    assert.deepEqual(w.node1().podCIDRs, [cidr(1).toString()]);
    assert.deepEqual(w.annotationsOf('node-1'), goAnnotations, "node-1's annotations as Go flannel wrote them");
    assert.match(await agent.readLog(), /node "node-1" already carries this lease's annotations; not patching/);
    assert.deepEqual(networkCondition(w.node1().conditions), [FLANNEL_IS_UP]);
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv), 'subnet.env: same subnet, MTU 1500');
    await poll(async () => (await flannelRuleLines(cluster, 1, 'filter')).length > 0, { what: 'host 1 iptables rules', timeoutMs: 3000 });
    await assertGoChainsKept(cluster, 1, NETWORK, cidr(1));
    assert.deepEqual(await agent.readErrors(), []);
  });

  it("rolls back: SIGTERM leaves node-1, the route, the chains and subnet.env as Go flannel's", async () => {
    const { cluster } = w;
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.deepEqual(w.annotationsOf('node-1'), goAnnotations);
    assert.deepEqual(await readEnv(cluster, 1), parseSubnetEnv(goEnv));
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts), 1000);
    await assertGoChainsKept(cluster, 1, NETWORK, cidr(1));
    await pingAll(pods, [4]);
  });
});
