/**
 * Agents on a 3-member etcd cluster (three etcd processes, one in each of hosts 1-3, peers on the
 * underlay), every member in -etcd-endpoints. A member partitioned (its link downed inside its
 * namespace: packets dropped, no RST), a member killed, the leader killed: each time the agents
 * keep their leases, keep running, and a host that joins meanwhile is routed at every other
 * host (their watches follow). The member comes back before the next fault. Needs root.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/command.js';
import { startEtcd, type EtcdProcess } from '../support/etcd-process.js';
import { poll } from '../support/poll.js';
import {
  expectedHostState,
  expectedLeaseValue,
  hostFacts,
  leaseKeyOf,
  networkConfig,
  readHostState,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
} from './datapath-checks.js';
import { NETWORK_CONFIG_KEY, createCluster, type Agent, type Cluster } from './harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC: DatapathSpec = { backend: 'vxlan', mode: 'v4' };
const MEMBERS = [1, 2, 3];
const FIRST_AGENTS = [4, 5];
const ROUTED_WITHIN_MS = 10_000;
const SOCKET = 'etcd.sock:2379';

describe('agents on a 3-member etcd cluster', { skip, timeout: 150_000 }, () => {
  let cluster: Cluster;
  const members = new Map<number, EtcdProcess>();
  const agents = new Map<number, Agent>();
  const facts = new Map<number, HostFacts>();
  const figures: string[] = [];
  let nextHost = FIRST_AGENTS.length + MEMBERS.length + 1;

  const clientUrl = (m: number) => `http://${cluster.hostAddress(m)}:2379`;
  const socketEndpoint = (m: number) => `unix://${join(members.get(m)!.workDir, SOCKET)}`;
  const etcdctl = async (args: readonly string[], m?: number) => {
    const eps = (m === undefined ? MEMBERS.filter((x) => members.has(x)) : [m]).map(socketEndpoint).join(',');
    const r = await run(['etcdctl', `--endpoints=${eps}`, '--dial-timeout=2s', '--command-timeout=5s', ...args], { env: { ETCDCTL_API: '3' }, signal: cluster.signal });
    return r.stdout;
  };
  const start = (i: number): Agent => {
    const a = cluster.startAgent(i, { args: [`-etcd-endpoints=${MEMBERS.map(clientUrl).join(',')}`, '-v=1'] });
    agents.set(i, a);
    return a;
  };
  const readLeases = async (): Promise<Map<string, string>> => {
    const lines = (await etcdctl(['get', '--prefix', '/coreos.com/network/subnets/'])).split('\n').filter((l) => l !== '');
    const m = new Map<string, string>();
    for (let k = 0; k + 1 < lines.length; k += 2) m.set(lines[k]!, lines[k + 1]!);
    return m;
  };
  /** The member that leads now, by `etcdctl endpoint status` on each running member. */
  const leader = async (): Promise<number> =>
    poll(
      async () => {
        for (const m of MEMBERS) {
          const out = await etcdctl(['endpoint', 'status', '-w', 'json'], m).catch(() => '');
          const st = (JSON.parse(out || '[]') as { Status?: { header?: { member_id?: number }; leader?: number } }[])[0]?.Status;
          if (st?.leader !== undefined && st.leader === st.header?.member_id) return m;
        }
        return undefined;
      },
      { what: 'an etcd leader', timeoutMs: 10_000, intervalMs: 200, signal: cluster.signal },
    );
  const healthy = () =>
    poll(async () => (await etcdctl(['endpoint', 'health']).then(() => true, () => false)), {
      what: 'all three members healthy',
      timeoutMs: 20_000,
      intervalMs: 200,
      signal: cluster.signal,
    });

  before(async () => {
    cluster = await createCluster({ hosts: MEMBERS.length + FIRST_AGENTS.length + 3, etcd: false });
    const initialCluster = MEMBERS.map((m) => `m${m}=http://${cluster.hostAddress(m)}:2380`).join(',');
    for (const m of MEMBERS) await mkdir(join(cluster.hostDir(m), 'etcd'), { recursive: true });
    const started = await Promise.all(
      MEMBERS.map((m) =>
        startEtcd({
          name: `m${m}`,
          initialCluster,
          netns: cluster.hostNs(m),
          workDir: join(cluster.hostDir(m), 'etcd'),
          clientUrls: [clientUrl(m), `unix://${SOCKET}`],
          peerUrl: `http://${cluster.hostAddress(m)}:2380`,
          extraArgs: ['--initial-cluster-state=new'],
          timeoutMs: 30_000,
          signal: cluster.signal,
        }).then((p) => [m, p] as const),
      ),
    );
    for (const [m, p] of started) members.set(m, p);
    await etcdctl(['put', NETWORK_CONFIG_KEY, JSON.stringify(networkConfig(SPEC))]);
    for (const i of FIRST_AGENTS) start(i);
    for (const i of FIRST_AGENTS) facts.set(i, await hostFacts(cluster, i, SPEC, await waitForSubnetEnv(agents.get(i)!, 'v4', 15_000)));
    for (const i of FIRST_AGENTS) await waitForHostState(cluster, i, SPEC, expectedHostState(cluster, SPEC, i, [...facts.values()]), 10_000);
  });

  after(async () => {
    if (figures.length > 0) process.stdout.write(`# etcd cluster faults: ${figures.join('; ')}\n`);
    if (cluster) for (const m of MEMBERS) await cluster.exec(m, ['ip', 'link', 'set', cluster.hostIface(m), 'up']).catch(() => {});
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
    for (const p of members.values()) await p.dispose().catch(() => {});
    await cluster?.destroy();
  });

  /** A host joins while the fault lasts; it must be routed at every other host; nothing is lost. */
  async function joinDuringFault(t: { diagnostic(msg: string): void }, what: string, fault: () => Promise<void>, heal: () => Promise<void>) {
    const before = await readLeases();
    const t0 = Date.now();
    await fault();
    const joiner = nextHost++;
    const a = start(joiner);
    const f = await hostFacts(cluster, joiner, SPEC, await waitForSubnetEnv(a, 'v4', ROUTED_WITHIN_MS + 10_000));
    facts.set(joiner, f);
    const want = [...facts.values()];
    await poll(
      async () => {
        for (const i of agents.keys()) {
          try {
            assert.deepEqual(await readHostState(cluster, i, SPEC), expectedHostState(cluster, SPEC, i, want));
          } catch {
            return false;
          }
        }
        return true;
      },
      { what: `host ${joiner} routed everywhere (${what})`, timeoutMs: ROUTED_WITHIN_MS + 10_000, intervalMs: 100, signal: cluster.signal },
    );
    const routed = Date.now() - t0;
    figures.push(`${what}: routed ${(routed / 1000).toFixed(1)} s`);
    t.diagnostic(`${what}: host ${joiner} routed at every host ${routed} ms after the fault`);
    await heal();
    await healthy();
    assert.ok(routed <= ROUTED_WITHIN_MS, `${what}: routed only after ${routed} ms`);
    for (const [i, ag] of agents) assert.ok(ag.running, `agent ${i} still runs`);
    const leases = await readLeases();
    for (const [key, value] of before) assert.equal(leases.get(key), value, `lease ${key} kept`);
    assert.deepEqual(
      new Map([...leases].sort()),
      new Map(want.map((x) => [leaseKeyOf(x), expectedLeaseValue(SPEC, x)] as [string, string]).sort()),
      'the leases in the store',
    );
  }

  it('a member partitioned (its link down: silence, no RST): agents move on, a joining host is routed', async (t) => {
    // The first endpoint, where every agent's watch starts.
    const m = 1;
    await joinDuringFault(
      t,
      `member m${m} partitioned`,
      async () => void (await cluster.exec(m, ['ip', 'link', 'set', cluster.hostIface(m), 'down'])),
      async () => void (await cluster.exec(m, ['ip', 'link', 'set', cluster.hostIface(m), 'up'])),
    );
  });

  it('a member killed: a joining host is routed, the member rejoins', async (t) => {
    // After the partition the agents are on m2: kill that one.
    const m = 2;
    await joinDuringFault(
      t,
      `member m${m} killed`,
      () => members.get(m)!.kill(),
      () => members.get(m)!.restart({ signal: cluster.signal }),
    );
  });

  it('the leader killed: a new one is elected, a joining host is routed', async (t) => {
    const m = await leader();
    await joinDuringFault(
      t,
      `leader m${m} killed`,
      () => members.get(m)!.kill(),
      () => members.get(m)!.restart({ signal: cluster.signal }),
    );
  });
});
