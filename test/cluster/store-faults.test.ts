/**
 * The store goes quiet, not down. Agents reach one etcd through two fault proxies (two
 * -etcd-endpoints, test/support/fault-proxy.ts, run in the etcd namespace); the first one
 * blackholes, drops, delays, cuts or stalls connections for FAULT_MS while a host joins and
 * the previous one leaves. Each time: the joining host is routed at the others within 10 s
 * (measured from the start of the fault, the join starting with it), pod pings between the
 * existing hosts lose nothing, and afterwards every agent's kernel state equals the leases in
 * the store and no agent lost its lease. Faults last 10 s here (issue 13 says 30 s; the whole
 * file must stay within the CI budget of 3 minutes). etcd runs in host 1 with progress
 * notifications every 2 s (--experimental-watch-progress-notify-interval), which is what lets
 * an agent notice a stalled watch stream on an endpoint that otherwise answers. Needs root.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/command.js';
import { startEtcd, type EtcdProcess } from '../support/etcd-process.js';
import { startFaultProxy, type FaultSetting, type RunningFaultProxy } from '../support/fault-proxy.js';
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
import { podIp, pingAll, startPingStream } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC: DatapathSpec = { backend: 'vxlan', mode: 'v4' };
const FAULT_MS = 10_000;
const ROUTED_WITHIN_MS = 10_000;
const PING_INTERVAL_S = 0.1;
/** Host 1 runs etcd and the two proxies; hosts 2-4 run agents from the start. */
const STORE_HOST = 1;
const EXISTING = [2, 3, 4];
/** One joining host per fault. */
const FAULTS: readonly FaultSetting[] = [{ mode: 'blackhole' }, { mode: 'drop' }, { mode: 'delay', delayMs: 500 }, { mode: 'cut' }, { mode: 'stall' }];

describe('agents when the store goes quiet (two endpoints, the first faulty)', { skip, timeout: 180_000 }, () => {
  let cluster: Cluster;
  let etcd: EtcdProcess | undefined;
  const proxies: RunningFaultProxy[] = [];
  const agents = new Map<number, Agent>();
  const facts = new Map<number, HostFacts>();
  const pods: Pod[] = [];
  const figures: string[] = [];

  const etcdctl = async (args: readonly string[]) =>
    (await run(['etcdctl', `--endpoints=unix://${join(etcd!.workDir, 'etcd.sock:2379')}`, '--command-timeout=5s', ...args], { env: { ETCDCTL_API: '3' }, signal: cluster.signal }))
      .stdout;
  const readLeases = async (): Promise<Map<string, string>> => {
    const lines = (await etcdctl(['get', '--prefix', '/coreos.com/network/subnets/'])).split('\n').filter((l) => l !== '');
    const m = new Map<string, string>();
    for (let k = 0; k + 1 < lines.length; k += 2) m.set(lines[k]!, lines[k + 1]!);
    return m;
  };
  const start = (i: number): Agent => {
    const endpoints = proxies.map((p) => p.url).join(',');
    const a = cluster.startAgent(i, { args: [`-etcd-endpoints=${endpoints}`, '-v=1'] });
    agents.set(i, a);
    return a;
  };
  /**
   * Puts every agent's watch on the first endpoint (where the fault goes): the second one
   * closes its connections and refuses new ones for a moment, so the agents fail over back.
   */
  const onFirstEndpoint = async () => {
    await proxies[1]!.set({ mode: 'drop' });
    try {
      await poll(async () => (await proxies[1]!.stats()).open === 0 && (await proxies[0]!.stats()).open >= agents.size, {
        what: 'every agent watching through the first endpoint',
        timeoutMs: 10_000,
        intervalMs: 100,
        signal: cluster.signal,
      });
    } finally {
      await proxies[1]!.set({ mode: 'pass' });
    }
  };
  const converged = async (timeoutMs = 5000) => {
    const peers = [...facts.values()];
    for (const i of agents.keys()) await waitForHostState(cluster, i, SPEC, expectedHostState(cluster, SPEC, i, peers), timeoutMs);
  };

  before(async () => {
    cluster = await createCluster({ hosts: 1 + EXISTING.length + FAULTS.length, etcd: false });
    const store = cluster.hostAddress(STORE_HOST);
    const workDir = join(cluster.hostDir(STORE_HOST), 'etcd');
    await mkdir(workDir, { recursive: true });
    etcd = await startEtcd({
      netns: cluster.hostNs(STORE_HOST),
      workDir,
      clientUrls: [`http://${store}:2379`, 'unix://etcd.sock:2379'],
      peerUrl: `http://${store}:2380`,
      extraArgs: ['--heartbeat-interval=20', '--election-timeout=200', '--experimental-watch-progress-notify-interval=2s'],
      signal: cluster.signal,
    });
    for (const k of [1, 2]) {
      proxies.push(
        await startFaultProxy({
          netns: cluster.hostNs(STORE_HOST),
          listen: { host: store, port: 23790 + k },
          target: { host: store, port: 2379 },
          controlPath: join(cluster.tmpDir, `fault-proxy-${k}.sock`),
          logFile: join(cluster.tmpDir, `fault-proxy-${k}.log`),
          signal: cluster.signal,
        }),
      );
    }
    await etcdctl(['put', NETWORK_CONFIG_KEY, JSON.stringify(networkConfig(SPEC))]);
    for (const i of EXISTING) start(i);
    for (const i of EXISTING) {
      const env = await waitForSubnetEnv(agents.get(i)!, 'v4');
      pods.push(await addPod(cluster, i, `pod${i}`, env));
      facts.set(i, await hostFacts(cluster, i, SPEC, env));
    }
    await converged(10_000);
    await pingAll(pods, [4]);
  });

  after(async () => {
    if (figures.length > 0) process.stdout.write(`# store faults: ${figures.join('; ')}\n`);
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
    for (const p of proxies) await p.stop().catch(() => {});
    await etcd?.dispose().catch(() => {});
    await cluster?.destroy();
  });

  FAULTS.forEach((fault, k) => {
    const joiner = Math.max(...EXISTING) + 1 + k;
    const what = fault.mode === 'delay' ? `delay ${fault.delayMs} ms` : fault.mode;
    it(`${what} on the first endpoint for ${FAULT_MS / 1000} s: a joining host is routed within ${ROUTED_WITHIN_MS / 1000} s, nothing lost`, async (t) => {
      await onFirstEndpoint();
      const leasesBefore = await readLeases();
      const existing = [...agents.keys()];
      const count = Math.round(FAULT_MS / 1000 / PING_INTERVAL_S);
      const pings = [startPingStream(pods[0]!, podIp(pods[1]!, 4), count, PING_INTERVAL_S), startPingStream(pods[2]!, podIp(pods[0]!, 4), count, PING_INTERVAL_S)];

      await proxies[0]!.set(fault);
      const t0 = Date.now();
      // The lease change during the fault: a host joins, and the previous joiner leaves.
      const previous = joiner - 1 > Math.max(...EXISTING) ? joiner - 1 : undefined;
      const a = start(joiner);
      if (previous !== undefined) {
        await agents.get(previous)!.stop();
        agents.delete(previous);
        await etcdctl(['del', leaseKeyOf(facts.get(previous)!)]);
        facts.delete(previous);
      }
      const env = await waitForSubnetEnv(a, 'v4', ROUTED_WITHIN_MS + 5000);
      const leasedAfter = Date.now() - t0;
      const f = await hostFacts(cluster, joiner, SPEC, env);
      facts.set(joiner, f);
      const want = [...facts.values()];
      // Routed: every other host has the joiner's route, neighbour and FDB entry (and no leaver's).
      await poll(
        async () => {
          for (const i of existing.filter((h) => agents.has(h))) {
            const have = await readHostState(cluster, i, SPEC);
            try {
              assert.deepEqual(have, expectedHostState(cluster, SPEC, i, want));
            } catch {
              return false;
            }
          }
          return true;
        },
        { what: `host ${joiner} routed at every other host`, timeoutMs: ROUTED_WITHIN_MS + 10_000, intervalMs: 100, signal: cluster.signal },
      );
      const routedAfter = Date.now() - t0;
      figures.push(`${what}: leased ${(leasedAfter / 1000).toFixed(1)} s, routed ${(routedAfter / 1000).toFixed(1)} s`);
      t.diagnostic(`${what}: joiner leased after ${leasedAfter} ms, routed at every other host after ${routedAfter} ms`);

      const results = await Promise.all(pings.map((p) => p.done));
      await proxies[0]!.set({ mode: 'pass' });
      t.diagnostic(`pings during the fault: ${results.map((r) => `${r.received}/${r.sent}`).join(', ')}`);

      assert.ok(routedAfter <= ROUTED_WITHIN_MS, `${what}: host ${joiner} routed only after ${routedAfter} ms`);
      for (const r of results) assert.equal(r.sent - r.received, 0, `pings lost during the fault:\n${r.output}`);
      for (const [i, ag] of agents) assert.ok(ag.running, `agent ${i} still runs`);
      // No agent lost its lease: every host from before the fault holds the same key and value.
      const leases = await readLeases();
      for (const x of facts.values()) {
        if (x.host !== joiner) assert.equal(leases.get(leaseKeyOf(x)), leasesBefore.get(leaseKeyOf(x)), `host ${x.host}'s lease kept`);
      }
      // The store holds exactly the running agents' leases, and every kernel agrees with it.
      assert.deepEqual(
        new Map([...leases].sort()),
        new Map(want.map((x) => [leaseKeyOf(x), expectedLeaseValue(SPEC, x)] as [string, string]).sort()),
        'the leases in the store',
      );
      await converged();
    });
  });
});
