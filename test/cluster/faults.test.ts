/**
 * flanneld under faults: a short lease renewed without lapsing, the expired lease of a killed
 * host, etcd killed and restarted under running agents, and a thousand leases removed in one
 * etcd revision. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { WatchEvent } from '../../src/subnet/etcd/etcd-types.js';
import { poll } from '../support/poll.js';
import { run } from '../support/command.js';
import { ETCD_ADDRESS, createCluster, type Agent, type Cluster } from './harness.js';
import {
  allocValue,
  countLines,
  etcdClient,
  hostRange,
  leaseBatchLines,
  listSubnetKeys,
  resetLeases,
  startAgents,
  subnetKey,
  subnetOf,
  waitForRemoteLeases,
} from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const HOSTS = 3;
const CONFIG = { Network: '10.0.0.0/8', SubnetLen: 24, Backend: { Type: 'alloc' } };

describe('flanneld under faults', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let kv: EtcdHttpClient;

  before(async () => {
    cluster = await createCluster({ hosts: HOSTS });
    kv = etcdClient(cluster);
    await cluster.putConfig(CONFIG);
  });

  after(async () => {
    kv?.close();
    await cluster?.destroy();
  });

  beforeEach(async () => {
    await resetLeases(cluster, cluster.agents, hostRange(HOSTS));
  });

  it('renews a 5 s lease so that its key never lapses over 15 s', async () => {
    const agent = cluster.startAgent(1, { args: ['-subnet-lease-ttl=5s', '-v=1'] });
    const key = subnetKey(subnetOf((await agent.waitForSubnetFile()).FLANNEL_SUBNET));
    const first = await kv.get(key);
    assert.ok(first);
    assert.ok((await kv.timeToLive(first.lease)) <= 5, 'the etcd lease has the 5 s TTL');

    const ac = new AbortController();
    const events: WatchEvent[] = [];
    const watching = (async () => {
      for await (const batch of kv.watchPrefix(key, first.modRevision + 1, { signal: ac.signal })) events.push(...batch.events);
    })();
    try {
      const start = Date.now();
      // Checked every 250 ms until 15 s have passed (three lifetimes of the lease).
      await poll(
        async () => {
          const now = await kv.get(key);
          assert.ok(now, `${key} lapsed after ${Date.now() - start} ms`);
          assert.equal(now.createRevision, first.createRevision, `${key} was re-created after ${Date.now() - start} ms`);
          assert.equal(now.lease, first.lease, 'renewed by keep-alive, on the same etcd lease');
          assert.ok((await kv.timeToLive(first.lease)) > 0, 'the etcd lease is alive');
          return Date.now() - start >= 15_000;
        },
        { what: `15 s of ${key} held`, timeoutMs: 20_000, intervalMs: 250 },
      );
    } finally {
      ac.abort();
      await watching.catch(() => {});
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'delete'),
      [],
      'no delete event for the key',
    );
    const renewals = countLines(await agent.readLog(), /renewed lease/);
    assert.ok(renewals >= 5, `renewed ${renewals} times in 15 s`);
    assert.equal(agent.running, true);
  });

  it('sees the expired lease of a killed host as removed', async () => {
    const agents = startAgents(cluster, [1, 2, 3], ['-subnet-lease-ttl=5s']);
    await Promise.all(agents.map((a) => a.waitForSubnetFile()));
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 2)));
    const dead = agents[2]!;
    const deadKey = subnetKey(subnetOf((await dead.waitForSubnetFile()).FLANNEL_SUBNET));
    const t0 = Date.now();
    assert.equal(await dead.kill(), 137);
    assert.ok(await kv.get(deadKey), 'the key outlives the process');
    for (const a of agents.slice(0, 2)) {
      await waitForRemoteLeases(a, 1, { timeoutMs: 12_000 });
      assert.deepEqual(leaseBatchLines(await a.readLog()).at(-1), { added: 0, removed: 1, remote: 1 });
    }
    const took = Date.now() - t0;
    assert.ok(took < 9000, `removal seen ${took} ms after the kill (TTL 5 s)`);
    assert.equal(await kv.get(deadKey), undefined);
    assert.equal((await listSubnetKeys(kv)).length, 2, 'the live hosts keep their leases');
  });

  it('keeps leases across an etcd kill and restart, and the watch resumes', async () => {
    const agents = startAgents(cluster, [1, 2]);
    const subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile()))).map((e) => subnetOf(e.FLANNEL_SUBNET));
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 1)));
    const before = await listSubnetKeys(kv);

    await cluster.etcd.kill();
    await Promise.all(agents.map((a) => a.waitForLog(/lease watch interrupted/, { timeoutMs: 5000 })));
    await cluster.etcd.restart();

    const late = cluster.startAgent(3);
    await late.waitForSubnetFile();
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 2, { timeoutMs: 15_000 })));
    assert.equal(agents.every((a) => a.running), true, 'agents survived etcd\'s death');
    for (const [k, s] of subnets.entries()) {
      const now = await kv.get(subnetKey(s));
      const was = before.find((e) => e.key === subnetKey(s));
      assert.equal(now?.createRevision, was?.createRevision, `host ${k + 1} kept ${subnetKey(s)}`);
      assert.equal(now?.lease, was?.lease);
      assert.equal(now?.value, allocValue(cluster.hostAddress(k + 1)));
    }
    await waitForRemoteLeases(late, 2);
  });

  it('keeps a 5 s lease through an etcd outage longer than its TTL', async () => {
    const agent = cluster.startAgent(1, { args: ['-subnet-lease-ttl=5s'] });
    const key = subnetKey(subnetOf((await agent.waitForSubnetFile()).FLANNEL_SUBNET));
    const before = await kv.get(key);
    assert.ok(before);
    await cluster.etcd.kill();
    const t0 = Date.now();
    // Down for more than the TTL, with the agent's renewals failing meanwhile.
    await poll(async () => Date.now() - t0 >= 6000 && countLines(await agent.readLog(), /failed to renew lease/) >= 2, {
      what: 'failed renewals during 6 s of etcd outage',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    await cluster.etcd.restart();
    // Two lifetimes after the restart, the key is still the one created before the outage.
    const t1 = Date.now();
    await poll(
      async () => {
        const now = await kv.get(key);
        assert.ok(now, `${key} lapsed ${Date.now() - t1} ms after etcd came back`);
        assert.equal(now.createRevision, before.createRevision, `${key} was re-created ${Date.now() - t1} ms after etcd came back`);
        return Date.now() - t1 >= 10_000;
      },
      { what: `10 s of ${key} held after the restart`, timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.equal(agent.running, true);
  });

  it('re-lists after its watch fell behind a compaction, also soon after re-taking its lease, and diffs once', async () => {
    const grant = await kv.grantLease(300);
    const fake = (n: number) => subnetKey(`10.200.${n}.0/24`);
    const put = (n: number) => kv.put(fake(n), allocValue(`192.168.77.${200 + n}`), { lease: grant.id });
    await put(1);
    const agents = startAgents(cluster, [1, 2]);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 2)));
    const [cut, live] = agents as [Agent, Agent];

    // Host 1 loses its key and takes it back; then the leases change once more.
    const ownKey = subnetKey(subnetOf((await cut.waitForSubnetFile()).FLANNEL_SUBNET));
    await kv.delete(ownKey);
    await cut.waitForLog(/acquired again/);
    await poll(() => kv.get(ownKey), { what: `${ownKey} back`, timeoutMs: 5000 });
    await put(4);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 3)));
    const linesBefore = leaseBatchLines(await cut.readLog()).length;

    // Host 1 is cut off from the underlay while leases change and etcd compacts them away;
    // then its connections to etcd are aborted, so its watch resumes from a compacted revision.
    const port = `${cluster.hostNs(1)}b`;
    await run(['ip', '-n', cluster.underlayNs, 'link', 'set', port, 'down']);
    try {
      await kv.delete(fake(1));
      await put(2);
      const rev = await put(3);
      await cluster.etcdctl(['compact', String(rev), '--physical']);
      await cluster.exec(1, ['ss', '-tnK', 'dst', ETCD_ADDRESS, 'dport', '=', ':2379']);
    } finally {
      await run(['ip', '-n', cluster.underlayNs, 'link', 'set', port, 'up']);
    }
    await cut.waitForLog(/lease watch fell behind etcd compaction/, { timeoutMs: 10_000 });
    await waitForRemoteLeases(cut, 4, { timeoutMs: 10_000 });
    await waitForRemoteLeases(live, 4, { timeoutMs: 10_000 });
    assert.deepEqual(
      leaseBatchLines(await cut.readLog()).slice(linesBefore),
      [{ added: 2, removed: 1, remote: 4 }],
      'one diff of the new listing against what the agent knew, nothing transient',
    );
    await kv.revokeLease(grant.id);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 1)));
  });

  it('sees a thousand leases removed in one etcd revision as a thousand removals', async () => {
    const agents = startAgents(cluster, [1, 2]);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, 1)));
    const COUNT = 1000;
    const grant = await kv.grantLease(300);
    const keys = Array.from({ length: COUNT }, (_, i) => subnetKey(`10.${100 + (i >> 8)}.${i & 255}.0/24`));
    // 8 writers over the unix socket.
    const queue = keys.map((k, i) => [k, allocValue(`192.168.78.${(i % 250) + 1}`)] as const);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let next = queue.pop(); next; next = queue.pop()) await kv.put(next[0], next[1], { lease: grant.id });
      }),
    );
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, COUNT + 1, { timeoutMs: 20_000 })));
    // A third agent finds them all in its initial listing.
    const late = cluster.startAgent(3);
    await waitForRemoteLeases(late, COUNT + 2, { timeoutMs: 10_000 });
    agents.push(late);
    await Promise.all(agents.map((a) => waitForRemoteLeases(a, COUNT + 2)));

    await kv.revokeLease(grant.id);
    for (const a of agents) {
      await waitForRemoteLeases(a, 2, { timeoutMs: 10_000 });
      const lines = leaseBatchLines(await a.readLog());
      assert.deepEqual(lines.at(-1), { added: 0, removed: COUNT, remote: 2 }, `host ${a.host}: all removals in one batch`);
    }
    assert.equal((await listSubnetKeys(kv)).length, 3);
  });
});
