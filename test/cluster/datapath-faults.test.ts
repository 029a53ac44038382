/**
 * The vxlan data path (IPv4) under faults: a kill -9 restart in the middle of a ping stream, the
 * device, a route, a neighbour and an FDB entry deleted by hand, a peer whose VtepMAC changes, a
 * lease deleted while the agent is down; and bad backend configs rejected before anything is
 * made. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  deleteLease,
  expectedHostState,
  expectedLeaseValue,
  hostFacts,
  leaseKeyOf,
  networkConfig,
  readLeases,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
} from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { startIpMonitor } from './ip-monitor.js';
import { linkNames, readAddresses, readLink, readRoutes, routeLine } from './kernel-state.js';
import { podIp, pingAll, startPingStream, waitForPing } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';
import { poll } from '../support/poll.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC: DatapathSpec = { backend: 'vxlan', mode: 'v4' };
const DEV = 'flannel.1';
const ARGS = ['-v=2'];

describe('vxlan data path under faults', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  const agents: Agent[] = [];
  const pods: Pod[] = [];
  let facts: HostFacts[] = [];

  const agent = (i: number): Agent => {
    const a = agents[i - 1];
    assert.ok(a, `agent ${i}`);
    return a;
  };
  const pod = (i: number): Pod => {
    const p = pods[i - 1];
    assert.ok(p, `pod ${i}`);
    return p;
  };
  const fact = (i: number): HostFacts => {
    const f = facts.find((x) => x.host === i);
    assert.ok(f, `facts of host ${i}`);
    return f;
  };
  const start = (i: number): Agent => {
    const a = cluster.startAgent(i, { args: ARGS });
    agents[i - 1] = a;
    return a;
  };
  const converged = async (hosts: readonly number[], peers: readonly HostFacts[]) => {
    for (const i of hosts) await waitForHostState(cluster, i, SPEC, expectedHostState(cluster, SPEC, i, peers));
  };

  before(async () => {
    cluster = await createCluster({ hosts: 3 });
    await cluster.putConfig(networkConfig(SPEC));
    for (const i of [1, 2, 3]) start(i);
    for (const i of [1, 2, 3]) {
      const env = await waitForSubnetEnv(agent(i), 'v4');
      pods.push(await addPod(cluster, i, `pod${i}`, env));
      facts.push(await hostFacts(cluster, i, SPEC, env));
    }
    await converged([1, 2, 3], facts);
    await pingAll(pods, [4]);
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('survives kill -9 and restart of the agent mid-stream: at most one lost packet, nothing re-created', async (t) => {
    const before = await readLink(cluster, 1, DEV);
    assert.ok(before);
    const routesBefore = (await readRoutes(cluster, 1, 4)).map(routeLine).sort();
    // Let the kernel finish with the young device (IPv6 link-local DAD) so the monitor sees only us.
    await poll(async () => (await cluster.exec(1, ['ip', '-6', 'addr', 'show', 'dev', DEV, 'tentative'])).stdout.trim() === '', {
      what: `${DEV} link-local address to leave DAD`,
      timeoutMs: 5000,
    });
    const monitor = await startIpMonitor(cluster, 1);
    const txPackets = async () => Number((await cluster.exec(2, ['cat', `/sys/class/net/${pod(2).hostIface}/statistics/tx_packets`])).stdout);
    const baseline = await txPackets();
    const stream = startPingStream(pod(1), podIp(pod(2), 4), 120, 0.05);
    // Mid-run: once the stream is flowing through host 2 to pod 2.
    await poll(async () => (await txPackets()) >= baseline + 20, { what: 'the ping stream to reach pod 2', timeoutMs: 5000, intervalMs: 20 });
    assert.equal(await agent(1).kill(), 137);
    const restarted = start(1);
    await restarted.waitForLog(/reconciled 2 peers \(initial lease snapshot\): 0 kernel changes/, { timeoutMs: 10_000 });
    const { sent, received, output } = await stream.done;
    const events = await monitor.stop();
    t.diagnostic(`ping stream across the restart: ${received}/${sent} replies`);
    assert.ok(sent - received <= 1, `lost ${sent - received} of ${sent} packets:\n${output}`);
    const afterLink = await readLink(cluster, 1, DEV);
    assert.ok(afterLink);
    assert.deepEqual([afterLink.ifindex, afterLink.address], [before.ifindex, before.address], `${DEV} kept its ifindex and MAC`);
    assert.deepEqual((await readRoutes(cluster, 1, 4)).map(routeLine).sort(), routesBefore);
    assert.deepEqual(
      events.filter((l) => l.includes(DEV) || facts.some((f) => f.net4 && l.includes(f.net4.ip.toString()))),
      [],
      'the kernel saw no change to the vxlan device or its entries',
    );
    await converged([1, 2, 3], facts);
  });

  it('brings back a vxlan device deleted by hand with the same MAC, address and entries', async () => {
    const before = await readLink(cluster, 1, DEV);
    assert.ok(before);
    await cluster.exec(1, ['ip', 'link', 'del', DEV]);
    await converged([1], facts);
    const again = await readLink(cluster, 1, DEV);
    assert.ok(again, `${DEV} is back`);
    assert.equal(again.address, before.address, 'same MAC');
    assert.ok(again.flags.includes('UP'), `${DEV} is up`);
    assert.deepEqual(await readAddresses(cluster, 1, DEV, 4), [`${fact(1).net4?.ip.toString()}/32`]);
    await waitForPing(pod(1), podIp(pod(2), 4));
    await waitForPing(pod(2), podIp(pod(1), 4));
  });

  it('restores a route, a neighbour and an FDB entry deleted by hand', async () => {
    const peer = fact(2);
    assert.ok(peer.net4 && peer.mac4 && peer.pub4);
    await cluster.exec(1, ['ip', 'route', 'del', peer.net4.toString()]);
    await converged([1], facts);
    await cluster.exec(1, ['ip', 'neigh', 'del', peer.net4.ip.toString(), 'dev', DEV]);
    await converged([1], facts);
    await cluster.exec(1, ['bridge', 'fdb', 'del', peer.mac4, 'dev', DEV, 'dst', peer.pub4, 'self']);
    await converged([1], facts);
    await waitForPing(pod(1), podIp(pod(2), 4));
  });

  it("replaces a peer's neighbour and FDB entries when its VtepMAC changes, leaving nothing stale", async () => {
    const old = fact(3);
    await agent(3).kill();
    await cluster.exec(3, ['ip', 'link', 'del', DEV]);
    const a3 = start(3);
    await a3.waitForLog(/created vxlan device flannel\.1/);
    const env = await waitForSubnetEnv(a3, 'v4');
    const now = await hostFacts(cluster, 3, SPEC, env);
    assert.equal(now.net4?.toString(), old.net4?.toString(), 'host 3 kept its subnet');
    assert.notEqual(now.mac4, old.mac4, 'host 3 has a new VtepMAC');
    facts = facts.map((f) => (f.host === 3 ? now : f));
    await poll(async () => (await readLeases(cluster)).get(leaseKeyOf(now)) === expectedLeaseValue(SPEC, now), {
      what: 'host 3 lease to carry the new VtepMAC',
      timeoutMs: 5000,
    });
    await converged([1, 2, 3], facts);
    await pingAll(pods, [4]);
  });

  it('removes on start the entries of a lease deleted while the agent was down', async () => {
    await agent(1).kill();
    // Host 2 goes for good (a live agent would re-create its lease).
    await agent(2).kill();
    assert.equal(await deleteLease(cluster, fact(2)), 1);
    start(1);
    const left = facts.filter((f) => f.host !== 2);
    await converged([1, 3], left);
    await waitForPing(pod(1), podIp(pod(3), 4));
  });
});

describe('bad vxlan backend config', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await createCluster({ hosts: 1 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const cases: Array<{ backend: Record<string, unknown>; field: string; value: RegExp }> = [
    { backend: { VNI: 16777216 }, field: 'Backend.VNI', value: /16777216/ },
    { backend: { Port: 70000 }, field: 'Backend.Port', value: /70000/ },
    { backend: { VNI: 'one' }, field: 'Backend.VNI', value: /"?one"?/ },
  ];
  for (const c of cases) {
    it(`rejects ${JSON.stringify(c.backend)}: exits non-zero naming ${c.field}, leaves no device and no lease`, async () => {
      await cluster.putConfig(networkConfig(SPEC, c.backend));
      const a = cluster.startAgent(1);
      const code = await a.waitForExit({ timeoutMs: 10_000 });
      assert.notEqual(code, 0);
      const log = await a.readLog();
      const line = log.split('\n').find((l) => l.includes(c.field));
      assert.ok(line, `log names ${c.field}:\n${log}`);
      assert.match(line, c.value);
      assert.deepEqual(await linkNames(cluster, 1, 'flannel'), [], 'no flannel device left');
      assert.deepEqual([...(await readLeases(cluster)).keys()], [], 'no lease written');
    });
  }
});
