/**
 * flanneld (etcd mode, alloc backend) in a multi-host cluster: distinct subnets, flannel's
 * subnet.env and etcd formats, restarts, subnet.env reuse, reservations, racing agents, eight
 * agents seeing each other, and a lease deleted or revoked while the agent runs. Needs root.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import { poll } from '../support/poll.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { startTogether } from './start-together.js';
import {
  allocValue,
  countLines,
  etcdClient,
  etcdctlSubnets,
  hostRange,
  listSubnetKeys,
  resetLeases,
  startAgents,
  subnetKey,
  subnetOf,
  waitForRemoteLeases,
} from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const HOSTS = 8;
const WIDE = { Network: '10.5.0.0/16', Backend: { Type: 'alloc' } };
const DAY_S = 24 * 3600;

/** Third octet of a 10.5.x.0/24 subnet. */
const octet3 = (subnet: string) => Number(subnet.split('.')[2]);

describe('flanneld leases', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let kv: EtcdHttpClient;

  before(async () => {
    cluster = await createCluster({ hosts: HOSTS });
    kv = etcdClient(cluster);
  });

  after(async () => {
    kv?.close();
    await cluster?.destroy();
  });

  beforeEach(async () => {
    await resetLeases(cluster, cluster.agents, hostRange(HOSTS));
  });

  it('gives three agents three distinct subnets in [SubnetMin, SubnetMax], in flannel\'s exact formats', async () => {
    await cluster.putConfig({ ...WIDE, SubnetMin: '10.5.10.0', SubnetMax: '10.5.14.0' });
    const agents = [cluster.startAgent(1), cluster.startAgent(2), cluster.startAgent(3, { args: ['-ip-masq'] })];
    const envs = await Promise.all(agents.map((a) => a.waitForSubnetFile()));
    const subnets = envs.map((e) => subnetOf(e.FLANNEL_SUBNET));
    assert.equal(new Set(subnets).size, 3, `distinct subnets: ${subnets.join(' ')}`);
    for (const s of subnets) {
      assert.match(s, /^10\.5\.\d+\.0\/24$/);
      assert.ok(octet3(s) >= 10 && octet3(s) <= 14, `${s} inside [10.5.10.0, 10.5.14.0]`);
    }
    for (const [k, a] of agents.entries()) {
      const text = await readFile(a.subnetFile, 'utf8');
      const masq = k === 2 ? 'true' : 'false';
      const want = `FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=${subnets[k]!.replace('.0/', '.1/')}\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=${masq}\n`;
      assert.equal(text, want, `subnet.env of host ${a.host}`);
      await a.waitForLog(new RegExp(`acquired lease ${subnets[k]!.replace(/\./g, '\\.')}`));
    }
    // etcd holds exactly Go flannel's keys and values, each key bound to an etcd lease.
    const viaCtl = await etcdctlSubnets(cluster);
    assert.deepEqual(
      new Map(viaCtl.map((e) => [e.key, e.value])),
      new Map(subnets.map((s, k) => [subnetKey(s), allocValue(cluster.hostAddress(k + 1))])),
    );
    for (const e of viaCtl) assert.notEqual(e.lease, 0, `${e.key} is bound to an etcd lease`);
    const kvs = await listSubnetKeys(kv);
    assert.equal(new Set(kvs.map((e) => e.lease)).size, 3, 'one etcd lease per agent');
    for (const e of kvs) {
      const ttl = await kv.timeToLive(e.lease);
      assert.ok(ttl > DAY_S - 120 && ttl <= DAY_S, `${e.key}: etcd lease TTL ${ttl}s is about 24h`);
    }
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 2)));
  });

  it('a SIGTERMed agent exits 0 within 1 s keeping its lease, and gets the same subnet back on restart', async () => {
    await cluster.putConfig(WIDE);
    const first = cluster.startAgent(1);
    const subnet = subnetOf((await first.waitForSubnetFile()).FLANNEL_SUBNET);
    const before = await kv.get(subnetKey(subnet));
    assert.ok(before, `key ${subnetKey(subnet)} exists`);
    const t0 = Date.now();
    assert.equal(await first.stop(), 0, 'exit code on SIGTERM');
    const took = Date.now() - t0;
    assert.ok(took < 1000, `stopped in ${took} ms`);
    const kept = await kv.get(subnetKey(subnet));
    assert.equal(kept?.createRevision, before.createRevision, 'the key survives the stop');
    assert.equal(kept?.lease, before.lease);

    const second = cluster.startAgent(1);
    const env = await second.waitForSubnetFile({ fresh: true });
    assert.equal(subnetOf(env.FLANNEL_SUBNET), subnet);
    const now = await kv.get(subnetKey(subnet));
    assert.equal(now?.createRevision, before.createRevision, 'the same key, not a new one');
    assert.equal(now?.value, allocValue(cluster.hostAddress(1)));
    assert.equal((await listSubnetKeys(kv)).length, 1);

    const t1 = Date.now();
    assert.equal(await second.stop('SIGINT'), 0, 'exit code on SIGINT');
    assert.ok(Date.now() - t1 < 1000, `stopped on SIGINT in ${Date.now() - t1} ms`);
    assert.equal((await kv.get(subnetKey(subnet)))?.createRevision, before.createRevision);
  });

  it('an agent whose etcd key is gone takes the subnet recorded in subnet.env, if inside the network', async () => {
    await cluster.putConfig(WIDE);
    const first = cluster.startAgent(2);
    const subnet = subnetOf((await first.waitForSubnetFile()).FLANNEL_SUBNET);
    assert.equal(await first.stop(), 0);
    await cluster.etcdctl(['del', subnetKey(subnet)]);
    const second = cluster.startAgent(2);
    assert.equal(subnetOf((await second.waitForSubnetFile({ fresh: true })).FLANNEL_SUBNET), subnet);
    assert.equal((await kv.get(subnetKey(subnet)))?.value, allocValue(cluster.hostAddress(2)));

    // 10.5.200.0/24 is not among the first 100 free subnets a random pick chooses from: only
    // subnet.env can lead the agent there.
    await resetLeases(cluster, [second], [2]);
    const env = `FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.200.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n`;
    await writeFile(`${cluster.hostDir(2)}/subnet.env`, env);
    const third = cluster.startAgent(2);
    assert.equal(subnetOf((await third.waitForSubnetFile({ fresh: true })).FLANNEL_SUBNET), '10.5.200.0/24');

    // A recorded subnet outside the network is ignored.
    await resetLeases(cluster, [third], [2]);
    await writeFile(`${cluster.hostDir(2)}/subnet.env`, env.replace('10.5.200.1/24', '10.99.7.1/24'));
    const fourth = cluster.startAgent(2);
    const got = subnetOf((await fourth.waitForSubnetFile({ fresh: true })).FLANNEL_SUBNET);
    assert.match(got, /^10\.5\.\d+\.0\/24$/);
  });

  it('never takes another host\'s reservation and uses its own, leaving both without an etcd lease', async () => {
    await cluster.putConfig({ ...WIDE, SubnetMin: '10.5.10.0', SubnetMax: '10.5.13.0' });
    await cluster.etcdctl(['put', subnetKey('10.5.10.0/24'), allocValue('192.168.77.250')]);
    await cluster.etcdctl(['put', subnetKey('10.5.13.0/24'), allocValue(cluster.hostAddress(3))]);
    const reservedOther = await kv.get(subnetKey('10.5.10.0/24'));
    const agents = startAgents(cluster, [1, 2, 3]);
    const subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile()))).map((e) => subnetOf(e.FLANNEL_SUBNET));
    assert.deepEqual([...subnets.slice(0, 2)].sort(), ['10.5.11.0/24', '10.5.12.0/24']);
    assert.equal(subnets[2], '10.5.13.0/24', 'host 3 uses its reservation');
    await agents[2]!.waitForLog(/using reserved subnet 10\.5\.13\.0\/24/);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 3)));

    const other = await kv.get(subnetKey('10.5.10.0/24'));
    assert.equal(other?.value, allocValue('192.168.77.250'));
    assert.equal(other?.modRevision, reservedOther?.modRevision, 'the other host\'s reservation is untouched');
    assert.equal(other?.lease, '0');
    const own = await kv.get(subnetKey('10.5.13.0/24'));
    assert.equal(own?.value, allocValue(cluster.hostAddress(3)));
    assert.equal(own?.lease, '0', 'the own reservation stays without a lease');
  });

  it('two agents started at the same instant with two free subnets never collide (5 rounds)', async (t) => {
    await cluster.putConfig({ ...WIDE, SubnetMin: '10.5.10.0', SubnetMax: '10.5.11.0' });
    let contended = 0;
    for (let round = 1; round <= 5; round++) {
      const agents = await startTogether(cluster, [1, 2], ['-v=1']);
      const subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile()))).map((e) => subnetOf(e.FLANNEL_SUBNET));
      assert.deepEqual([...subnets].sort(), ['10.5.10.0/24', '10.5.11.0/24'], `round ${round}`);
      const held = new Map((await listSubnetKeys(kv)).map((e) => [e.key, e.value]));
      assert.deepEqual(held, new Map(subnets.map((s, k) => [subnetKey(s), allocValue(cluster.hostAddress(k + 1))])), `round ${round}`);
      for (const a of agents) contended += countLines(await a.readLog(), /was taken by another host meanwhile/);
      await resetLeases(cluster, agents, [1, 2]);
    }
    t.diagnostic(`creates lost to the other agent over 5 rounds: ${contended}`);
  });

  it('eight agents started at the same instant all see the seven others (3 rounds)', async () => {
    await cluster.putConfig(WIDE);
    const hosts = hostRange(HOSTS);
    for (let round = 1; round <= 3; round++) {
      const agents = await startTogether(cluster, hosts);
      const subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 15_000 })))).map((e) => subnetOf(e.FLANNEL_SUBNET));
      assert.equal(new Set(subnets).size, HOSTS, `round ${round}: distinct subnets ${subnets.join(' ')}`);
      await Promise.all(agents.map((a) => waitForRemoteLeases(a, HOSTS - 1, { timeoutMs: 15_000 })));
      assert.equal((await listSubnetKeys(kv)).length, HOSTS);
      await resetLeases(cluster, agents, hosts);
    }
  });

  it('takes its subnet back when its key is deleted or its etcd lease revoked while it runs', async () => {
    await cluster.putConfig(WIDE);
    const [agent, observer] = startAgents(cluster, [1, 2]) as [Agent, Agent];
    const subnet = subnetOf((await agent.waitForSubnetFile()).FLANNEL_SUBNET);
    await waitForRemoteLeases(observer, 1);
    const key = subnetKey(subnet);
    const original = await kv.get(key);
    assert.ok(original);

    await cluster.etcdctl(['del', key]);
    await agent.waitForLog(/acquired again/, { timeoutMs: 5000 });
    const back = await poll(async () => kv.get(key), { what: `${key} to be written again`, timeoutMs: 5000 });
    assert.ok(back.createRevision > original.createRevision, 'a new key');
    assert.equal(back.value, allocValue(cluster.hostAddress(1)));
    assert.notEqual(back.lease, '0');
    assert.equal(subnetOf((await agent.waitForSubnetFile()).FLANNEL_SUBNET), subnet, 'subnet.env unchanged');

    await kv.revokeLease(back.lease);
    const again = await poll(
      async () => {
        const cur = await kv.get(key);
        return cur && cur.createRevision > back.createRevision ? cur : undefined;
      },
      { what: `${key} to be taken again after its etcd lease was revoked`, timeoutMs: 5000 },
    );
    assert.equal(again.value, allocValue(cluster.hostAddress(1)));
    assert.notEqual(again.lease, back.lease);
    assert.equal((await kv.timeToLive(again.lease)) > 0, true, 'bound to a live etcd lease');
    assert.equal(agent.running, true);
    await waitForRemoteLeases(observer, 1);
  });
});
