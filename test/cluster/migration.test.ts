/**
 * Migrating a live cluster from Go flannel to flannel-ts and back, host by host. Host 1 is "a Go
 * flannel host": the state Go flanneld leaves (go-flannel-state.ts) laid down by hand, no agent.
 * Hosts 2 and 3 run flannel-ts. Then flannel-ts starts on host 1 over Go's state under a
 * continuous pod-to-pod ping (same subnet, same VtepMAC, chains taken over without duplicates,
 * no packet lost), and stops again (SIGTERM), leaving what a Go flanneld would take over.
 * Needs root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { run } from '../support/command.js';
import { poll } from '../support/poll.js';
import { parseSubnetEnv, type Agent } from './agent.js';
import {
  NETWORK_V4,
  expectedHostState,
  hostFacts,
  readLeases,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
  type HostState,
} from './datapath-checks.js';
import {
  assertGoChainsKept,
  etcdLeaseOf,
  flannelRuleLines,
  goChainLines,
  goHostGwLeaseValue,
  goLeaseKey,
  goSubnetEnv,
  goVxlanLeaseValue,
  goWireguardLeaseValue,
  layGoChains,
  layGoHostGwPeer,
  layGoIpipDevice,
  layGoIpipPeer,
  layGoVxlanDevice,
  layGoVxlanPeer,
  putGoLease,
  writeGoSubnetEnv,
} from './go-flannel-state.js';
import { createCluster, type Cluster } from './harness.js';
import { startIpMonitor } from './ip-monitor.js';
import { kubeAgentArgs, startClusterKubeApi, type ClusterKubeApi } from './kube-api-node.js';
import { readAddresses, readLink } from './kernel-state.js';
import { pingAll, podIp, startPingStream } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const NETWORK = IPNetwork.parse(NETWORK_V4);
/** Host 1's subnet and VtepMAC under Go flannel (any free subnet and a locally administered MAC). */
const GO_SUBNET = IPNetwork.parse('10.5.77.0/24');
const GO_MAC = '5a:9b:6c:cc:33:80';
/** Go flannel's default subnet file, private to each host. */
const SUBNET_FILE = '/run/flannel/subnet.env';
/** The continuous ping across the swap: 20 ms apart, bounded. */
const PING_INTERVAL_S = 0.02;
const PING_COUNT = 300;

function goSubnetFile(cluster: Cluster, host: number): string {
  return join(cluster.hostDir(host), 'private', SUBNET_FILE);
}

async function readEnv(path: string): Promise<Record<string, string>> {
  return parseSubnetEnv(await readFile(path, 'utf8'));
}

/**
 * The `ip monitor` lines that name any of `words`, less the kernel's own IPv6 link-local
 * bookkeeping (a device created just before gets its fe80:: address when DAD ends).
 */
function dataPathEvents(events: readonly string[], words: readonly string[]): string[] {
  return events.filter((l) => !l.includes('fe80:') && words.some((w) => l.includes(w)));
}

/** Waits until `agent` logs that it holds a lease; fails early if it exits. */
async function waitForLease(agent: Agent): Promise<void> {
  await agent.waitForLog(/acquired lease/, { timeoutMs: 10_000 });
}

type MigrationBackend = 'vxlan' | 'host-gw' | 'ipip';

/** Why this kernel cannot make ipip links (tried in a throw-away namespace), or false. */
function ipipRefusal(): string | false {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('unshare', ['--net', 'ip', 'link', 'add', 'ftst-ipip0', 'type', 'ipip', 'local', '192.0.2.1'], { encoding: 'utf8' });
  return r.status === 0 ? false : `this kernel refuses ipip links: ${(r.stderr || `exit ${r.status}`).trim()}`;
}

function describeMigration(backend: MigrationBackend, hosts: readonly number[]): void {
  const vxlan = backend === 'vxlan';
  const ipip = backend === 'ipip';
  const dev = vxlan ? 'flannel.1' : ipip ? 'flannel.ipip' : '';
  const mtu = vxlan ? 1450 : ipip ? 1480 : 1500;
  // ipip's entries are routes with a gateway into the network, which is what the host-gw view reads.
  const spec: DatapathSpec = { backend: vxlan ? 'vxlan' : 'host-gw', mode: 'v4' };
  const skipIt = skip || (ipip && ipipRefusal());
  describe(`migrating host 1 from Go flannel to flannel-ts and back (${backend})`, { skip: skipIt, timeout: 45_000 }, () => {
    let cluster: Cluster;
    const pods: Pod[] = [];
    const facts: HostFacts[] = [];
    let goValue = '';
    let goIfindex = 0;
    let measured = '';
    const wantState = (self: number): HostState =>
      ipip
        ? {
            routes: facts.filter((p) => p.host !== self).map((p) => `${p.net4?.toString()} via ${p.pub4} dev ${dev} onlink`).sort(),
            neighbors: [],
            fdb: [],
          }
        : expectedHostState(cluster, spec, self, facts);

    before(async () => {
      cluster = await createCluster({ hosts: hosts.length, privateDirs: ['/run/flannel'] });
      await cluster.putConfig({ Network: NETWORK_V4, Backend: { Type: backend } });
      // Host 1: what Go flanneld left.
      const pub1 = cluster.hostAddress(1);
      goValue = vxlan ? goVxlanLeaseValue(pub1, GO_MAC) : goHostGwLeaseValue(pub1, backend);
      await putGoLease(cluster, GO_SUBNET, goValue);
      await writeGoSubnetEnv(goSubnetFile(cluster, 1), goSubnetEnv(NETWORK, GO_SUBNET, mtu, true));
      if (vxlan) await layGoVxlanDevice(cluster, 1, { subnet: GO_SUBNET, mac: GO_MAC, mtu });
      if (ipip) await layGoIpipDevice(cluster, 1, { subnet: GO_SUBNET, mtu });
      await layGoChains(cluster, 1, NETWORK, GO_SUBNET);
      const env1 = await readEnv(goSubnetFile(cluster, 1));
      pods.push(await addPod(cluster, 1, 'pod1', env1));
      facts.push({ host: 1, net4: GO_SUBNET, net6: undefined, pub4: pub1, pub6: undefined, mac4: vxlan ? GO_MAC : undefined, mac6: undefined });
      // Hosts 2..: flannel-ts agents.
      for (const i of hosts.slice(1)) {
        const a = cluster.startAgent(i, { args: ['-ip-masq'] });
        const env = await waitForSubnetEnv(a, 'v4');
        pods.push(await addPod(cluster, i, `pod${i}`, env));
        facts.push(await hostFacts(cluster, i, spec, env));
      }
      // What Go flanneld on host 1 would have programmed for them, from their leases.
      for (const f of facts.slice(1)) {
        assert.ok(f.net4 && f.pub4);
        if (vxlan) {
          assert.ok(f.mac4);
          await layGoVxlanPeer(cluster, 1, { subnet: f.net4, mac: f.mac4, publicIP: f.pub4 });
        } else if (ipip) {
          await layGoIpipPeer(cluster, 1, { subnet: f.net4, publicIP: f.pub4 });
        } else {
          await layGoHostGwPeer(cluster, 1, { subnet: f.net4, publicIP: f.pub4 });
        }
      }
      if (dev) goIfindex = (await readLink(cluster, 1, dev))?.ifindex ?? 0;
    });

    after(async () => {
      if (measured) console.log(`# ${backend} migration: ${measured}`);
      await cluster?.destroy();
    });

    it('a Go flannel host and flannel-ts hosts reach each other', async () => {
      for (const i of hosts.slice(1)) await waitForHostState(cluster, i, spec, wantState(i));
      await waitForHostState(cluster, 1, spec, wantState(1));
      await pingAll(pods, [4]);
    });

    it('flannel-ts takes over host 1 under a continuous ping: same subnet, same VtepMAC, chains kept, no packet lost', async () => {
      const [pod1, pod2] = pods;
      assert.ok(pod1 && pod2);
      const monitor = await startIpMonitor(cluster, 1);
      const stream = startPingStream(pod1, podIp(pod2, 4), PING_COUNT, PING_INTERVAL_S);
      // Let a few packets go before the swap.
      await new Promise((r) => setTimeout(r, 300));
      const agent = cluster.startAgent(1, { args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
      await waitForLease(agent);
      await waitForHostState(cluster, 1, spec, wantState(1));
      let finished = false;
      void stream.done.then(() => (finished = true), () => (finished = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(finished, false, 'the ping stream outlasts the swap (raise PING_COUNT)');
      // Go flannel's entries were adopted as they were: not one link, address, route or
      // neighbour event of the data path on host 1 during the takeover.
      const peerNets = facts.slice(1).map((f) => f.net4?.toString() ?? '?');
      const events = await monitor.stop();
      const touched = dataPathEvents(events, [...(dev ? [dev] : []), GO_SUBNET.ip.toString(), ...peerNets]);
      assert.deepEqual(touched, [], 'kernel events on the data path during the takeover');
      const ping = await stream.done;
      measured = `${ping.sent} pings pod1 -> pod2 at ${PING_INTERVAL_S * 1000} ms across the start of flannel-ts on host 1: ${ping.sent - ping.received} lost; data-path kernel events: ${touched.length}`;
      assert.equal(ping.received, ping.sent, `pings lost during the swap:\n${ping.output.split('\n').slice(-4).join('\n')}`);

      const env = await readEnv(goSubnetFile(cluster, 1));
      assert.equal(env.FLANNEL_SUBNET, `${GO_SUBNET.ip.add(1n).toString()}/24`, 'the same subnet as under Go flannel');
      assert.deepEqual((await readLeases(cluster)).get(goLeaseKey(GO_SUBNET)), goValue, 'the same lease value (same VtepMAC)');
      assert.equal((await readLeases(cluster)).size, hosts.length, 'no second lease for host 1');
      if (vxlan) {
        const link = await readLink(cluster, 1, 'flannel.1');
        assert.ok(link);
        assert.equal(link.address, GO_MAC, 'VtepMAC kept');
        assert.equal(link.ifindex, goIfindex, "Go flannel's device adopted, not re-created");
        assert.match(await agent.readLog(), /reusing vxlan device flannel\.1/);
      }
      if (ipip) assert.equal((await readLink(cluster, 1, dev))?.ifindex, goIfindex, "Go flannel's flannel.ipip adopted, not re-created");
      // The rules are set up right after the lease; subnet.env is written once they are.
      await poll(async () => (await agent.readLog()).match(/subnet|traffic|iptables/i) !== null, { what: 'host 1 rules set up', timeoutMs: 3000 });
      await assertGoChainsKept(cluster, 1, NETWORK, GO_SUBNET);
      assert.deepEqual(await agent.readErrors(), [], 'errors in the log of host 1');
    });

    it("rolls back: SIGTERM leaves the lease, device and chains as Go flannel expects them", async () => {
      const agent = cluster.agents.find((a) => a.host === 1);
      assert.ok(agent);
      assert.equal(await agent.stop('SIGTERM'), 0, 'flannel-ts on host 1 exits 0 on SIGTERM');
      const leases = await readLeases(cluster);
      assert.equal(leases.get(goLeaseKey(GO_SUBNET)), goValue, "the lease value in Go flannel's byte format");
      const lease = await etcdLeaseOf(cluster, goLeaseKey(GO_SUBNET));
      assert.ok(lease, 'the key is bound to an etcd lease (not a reservation)');
      assert.equal(lease.granted, 86_400, 'lease TTL 24 h');
      assert.ok(lease.ttl > 86_000, `remaining TTL ${lease.ttl} s`);
      assert.deepEqual(await readEnv(goSubnetFile(cluster, 1)), parseSubnetEnv(goSubnetEnv(NETWORK, GO_SUBNET, mtu, true)), "subnet.env as Go flannel reads it");
      if (vxlan) {
        const link = await readLink(cluster, 1, 'flannel.1');
        assert.ok(link, 'flannel.1 left in place');
        assert.equal(link.address, GO_MAC);
        assert.equal(link.mtu, mtu);
        assert.deepEqual(
          { id: link.data.id, port: link.data.port, learning: link.data.learning, local: link.data.local },
          { id: 1, port: 8472, learning: false, local: cluster.hostAddress(1) },
        );
        assert.deepEqual(await readAddresses(cluster, 1, 'flannel.1', 4), [`${GO_SUBNET.ip.toString()}/32`]);
      }
      if (ipip) {
        const link = await readLink(cluster, 1, dev);
        assert.ok(link, 'flannel.ipip left in place');
        assert.deepEqual({ kind: link.kind, mtu: link.mtu, local: link.data.local }, { kind: 'ipip', mtu, local: cluster.hostAddress(1) });
        assert.deepEqual(await readAddresses(cluster, 1, dev, 4), [`${GO_SUBNET.ip.toString()}/32`]);
      }
      await waitForHostState(cluster, 1, spec, wantState(1), 1000);
      const want = goChainLines(NETWORK, GO_SUBNET);
      assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), want.nat, 'nat chains left as Go flannel makes them');
      assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), want.filter, 'filter chains left as Go flannel makes them');
      // The data path keeps working with no agent, as it did under Go flannel.
      await pingAll(pods, [4]);
    });
  });
}

describeMigration('vxlan', [1, 2, 3]);
describeMigration('host-gw', [1, 2]);
describeMigration('ipip', [1, 2]);

/**
 * Kube mode: node-1 carries the annotations Go flannel writes and its podCIDR; host 1 the device,
 * entries, chains and subnet.env; host 2 runs flannel-ts. flannel-ts takes over host 1 under a
 * ping and gives it back, leaving node-1's annotations as Go flannel wrote them.
 */
describe('migrating host 1 from Go flannel to flannel-ts and back (kube mode, vxlan)', { skip, timeout: 45_000 }, () => {
  const spec: DatapathSpec = { backend: 'vxlan', mode: 'v4' };
  const network = IPNetwork.parse('10.244.0.0/16');
  const cidr = (i: number) => IPNetwork.parse(`10.244.${i}.0/24`);
  const P = 'flannel.alpha.coreos.com/';
  let cluster: Cluster;
  let api: ClusterKubeApi;
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];
  let goAnnotations: Record<string, string> = {};
  let measured = '';
  const annotationsOf = (name: string) =>
    Object.fromEntries(Object.entries(api.server.store.get(name)?.metadata.annotations ?? {}).filter(([k]) => k.startsWith(P)));

  before(async () => {
    cluster = await createCluster({ hosts: 2, etcd: false, privateDirs: ['/run/flannel'] });
    api = await startClusterKubeApi(cluster);
    await api.writeNetConf({ Network: network.toString(), Backend: { Type: 'vxlan' } });
    const pub1 = cluster.hostAddress(1);
    // As Go flanneld leaves node-1 (annotations via nodes/status, NetworkUnavailable=False).
    goAnnotations = {
      [`${P}backend-data`]: `{"VNI":1,"VtepMAC":"${GO_MAC}"}`,
      [`${P}backend-type`]: 'vxlan',
      [`${P}kube-subnet-manager`]: 'true',
      [`${P}public-ip`]: pub1,
    };
    const unavailable = { type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node' };
    api.server.store.create({ name: 'node-1', podCIDRs: [cidr(1).toString()], annotations: goAnnotations, status: { conditions: [unavailable] } });
    api.server.store.create({ name: 'node-2', podCIDRs: [cidr(2).toString()] });
    await writeGoSubnetEnv(goSubnetFile(cluster, 1), goSubnetEnv(network, cidr(1), 1450, true));
    await layGoVxlanDevice(cluster, 1, { subnet: cidr(1), mac: GO_MAC, mtu: 1450 });
    await layGoChains(cluster, 1, network, cidr(1));
    pods.push(await addPod(cluster, 1, 'pod1', await readEnv(goSubnetFile(cluster, 1))));
    facts.push({ host: 1, net4: cidr(1), net6: undefined, pub4: pub1, pub6: undefined, mac4: GO_MAC, mac6: undefined });
    const a2 = cluster.startAgent(2, { args: kubeAgentArgs(api, ['-ip-masq']), env: { NODE_NAME: 'node-2' } });
    const env2 = await a2.waitForSubnetFile({ timeoutMs: 15_000 });
    pods.push(await addPod(cluster, 2, 'pod2', env2));
    const f2 = await hostFacts(cluster, 2, spec, env2);
    facts.push(f2);
    // What Go flanneld on host 1 would program for node-2, from its annotations.
    await poll(() => annotationsOf('node-2')[`${P}backend-data`], { what: 'node-2 annotations', timeoutMs: 10_000 });
    const data2 = JSON.parse(annotationsOf('node-2')[`${P}backend-data`] ?? '{}') as { VtepMAC?: string };
    assert.equal(data2.VtepMAC, f2.mac4, "node-2's VtepMAC annotation is its device's MAC");
    assert.ok(f2.net4 && f2.mac4 && f2.pub4);
    await layGoVxlanPeer(cluster, 1, { subnet: f2.net4, mac: f2.mac4, publicIP: f2.pub4 });
  });

  after(async () => {
    if (measured) console.log(`# kube-mode vxlan migration: ${measured}`);
    await cluster?.destroy();
  });

  it('a Go flannel node and a flannel-ts node reach each other', async () => {
    await waitForHostState(cluster, 2, spec, expectedHostState(cluster, spec, 2, facts), 10_000);
    await pingAll(pods, [4], 10_000);
  });

  it('flannel-ts takes over host 1 under a continuous ping: same podCIDR, MAC and annotations, no packet lost', async () => {
    const [pod1, pod2] = pods;
    assert.ok(pod1 && pod2);
    const ifindex = (await readLink(cluster, 1, 'flannel.1'))?.ifindex;
    const monitor = await startIpMonitor(cluster, 1);
    const stream = startPingStream(pod1, podIp(pod2, 4), PING_COUNT, PING_INTERVAL_S);
    await new Promise((r) => setTimeout(r, 300));
    const agent = cluster.startAgent(1, { args: kubeAgentArgs(api, ['-ip-masq', `-subnet-file=${SUBNET_FILE}`]), env: { NODE_NAME: 'node-1' } });
    await waitForLease(agent);
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts));
    const events = await monitor.stop();
    const touched = dataPathEvents(events, ['flannel.1', cidr(2).toString(), cidr(1).ip.toString()]);
    const ping = await stream.done;
    measured = `${ping.sent} pings at ${PING_INTERVAL_S * 1000} ms: ${ping.sent - ping.received} lost; data-path kernel events: ${touched.length}`;
    assert.equal(ping.received, ping.sent, 'pings lost during the swap');
    assert.deepEqual(touched, [], 'kernel events on the data path during the takeover');
    const link = await readLink(cluster, 1, 'flannel.1');
    assert.equal(link?.address, GO_MAC, 'VtepMAC kept');
    assert.equal(link?.ifindex, ifindex, "Go flannel's device adopted");
    assert.equal((await readEnv(goSubnetFile(cluster, 1))).FLANNEL_SUBNET, '10.244.1.1/24');
    assert.deepEqual(annotationsOf('node-1'), goAnnotations, "node-1's annotations as Go flannel wrote them");
    const want = goChainLines(network, cidr(1));
    await poll(async () => (await agent.readLog()).match(/subnet|traffic|iptables/i) !== null, { what: 'host 1 rules set up', timeoutMs: 3000 });
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), want.nat);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), want.filter);
  });

  it('rolls back: SIGTERM leaves node-1, the device and the chains as Go flannel expects them', async () => {
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.deepEqual(annotationsOf('node-1'), goAnnotations);
    assert.deepEqual(api.server.store.get('node-1')?.spec?.podCIDRs, [cidr(1).toString()]);
    const link = await readLink(cluster, 1, 'flannel.1');
    assert.equal(link?.address, GO_MAC);
    await waitForHostState(cluster, 1, spec, expectedHostState(cluster, spec, 1, facts), 1000);
    const want = goChainLines(network, cidr(1));
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), want.nat);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), want.filter);
    await pingAll(pods, [4]);
  });
});

/**
 * wireguard, the cheap part: Go flannel's key file (/run/flannel/wgkey: the base64 private key,
 * no newline, mode 0400) and its lease. flannel-ts on that host keeps the key (so the public key
 * peers know), the subnet and the lease value; SIGTERM leaves them. (This kernel has no WireGuard
 * module, so Go's kernel device cannot be laid down: flannel-ts runs wireguard-go here.)
 */
const hasWg = ['wg', 'wireguard-go'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
describe('migrating a wireguard host from Go flannel: key file and lease kept', { skip: skip || (!hasWg && 'needs wg and wireguard-go'), timeout: 30_000 }, () => {
  let cluster: Cluster;
  const subnet = IPNetwork.parse('10.5.78.0/24');

  before(async () => {
    cluster = await createCluster({ hosts: 1, privateDirs: ['/run/wireguard', '/run/flannel'] });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('keeps the key, the subnet and the exact lease value, and leaves them on SIGTERM', async () => {
    await cluster.putConfig({ Network: NETWORK_V4, Backend: { Type: 'wireguard' } });
    const priv = (await run(['wg', 'genkey'])).stdout.trim();
    const pub = (await run(['wg', 'pubkey'], { input: `${priv}\n` })).stdout.trim();
    const keyFile = join(cluster.hostDir(1), 'private', '/run/flannel/wgkey');
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, priv, { mode: 0o400 });
    const value = goWireguardLeaseValue(cluster.hostAddress(1), pub);
    await putGoLease(cluster, subnet, value);
    await writeGoSubnetEnv(goSubnetFile(cluster, 1), goSubnetEnv(NETWORK, subnet, 1420, true));

    const agent = cluster.startAgent(1, { args: [`-subnet-file=${SUBNET_FILE}`] });
    await waitForLease(agent);
    await poll(async () => (await cluster.exec(1, ['wg', 'show', 'flannel-wg', 'public-key'], { allowFailure: true })).stdout.trim() === pub, {
      what: 'flannel-wg to carry the key of Go flannel',
      timeoutMs: 10_000,
    });
    assert.equal((await readEnv(goSubnetFile(cluster, 1))).FLANNEL_SUBNET, '10.5.78.1/24');
    assert.equal(await readFile(keyFile, 'utf8'), priv, 'key file unchanged');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o400);
    const leases = await readLeases(cluster);
    assert.deepEqual([...leases], [[goLeaseKey(subnet), value]], "one lease, Go flannel's value");

    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.deepEqual([...(await readLeases(cluster))], [[goLeaseKey(subnet), value]]);
    assert.equal((await etcdLeaseOf(cluster, goLeaseKey(subnet)))?.granted, 86_400);
    assert.equal(await readFile(keyFile, 'utf8'), priv);
  });
});
