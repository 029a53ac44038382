/**
 * The Kubernetes API goes quiet, not down (issue 13). Three kube-mode agents (vxlan) reach the
 * stand-in API server (kube-api-node.ts) each through its own TCP fault proxy
 * (test/support/fault-proxy.ts, run in the API server's namespace); a fourth host joins
 * directly while, at the same moment, each proxy injects one fault into the connections its
 * agent has open (its node watch among them):
 *   blackhole  those connections accept and never answer again (a lost path or NAT entry);
 *              new ones pass, as to an API server behind a load balancer
 *   stall      those connections are frozen (held, not lost) for FAULT_SEC, new ones pass;
 *              then the held bytes are delivered, long after their time
 *   drop       those connections are reset (RST), new ones pass
 *   outage     every connection, new ones too, accepted and never answered for FAULT_SEC
 *              (the whole path lost); the connections stay dead afterwards
 * Each quietly faulty host must route the joiner (its podCIDR, and the annotations its agent
 * publishes: VTEP MAC, public IP) within 10 s of the fault's start (printed per fault), the
 * outage host within 15 s of the outage's end; pod
 * pings between the existing hosts lose nothing for the FAULT_SEC the fault lasts; afterwards
 * every agent's kernel state equals the nodes in the API. The agents run with the default
 * watch probe (5 s of silence, 3 s to answer). The stand-in sends a bookmark every second, as
 * etcd's progress notifications come every 2 s in store-faults.test.ts: it is the learnt
 * bookmark cadence that notices a stalled or blackholed stream whose server still answers
 * (a real API server sends one a minute; see watch-silence-probe.ts).
 * FAULT_SEC: env FLANNEL_TS_FAULT_SEC (default 30). The faults run in parallel, one per host,
 * so the file takes about FAULT_SEC plus ~20 s. Needs root.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { startFaultProxy, type RunningFaultProxy } from '../support/fault-proxy.js';
import { poll } from '../support/poll.js';
import { expectedHostState, hostFacts, readHostState, waitForSubnetEnv, type DatapathSpec, type HostFacts } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { KUBE_API_PORT, KUBE_API_SUFFIX, kubeAgentArgs, startClusterKubeApi, writeKubeconfig, type ClusterKubeApi } from './kube-api-node.js';
import { podIp, pingAll, startPingStream } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';
import { nodeAddress } from './underlay.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC: DatapathSpec = { backend: 'vxlan', mode: 'v4' };
const P = 'flannel.alpha.coreos.com/';
const FAULT_SEC = faultSec();
const ROUTED_WITHIN_MS = 10_000;
const PING_INTERVAL_S = 0.1;
/** Host -> the fault on its agent's connections to the API server. */
type Fault = 'blackhole' | 'stall' | 'drop' | 'outage';
const FAULTS: ReadonlyMap<number, Fault> = new Map([
  [1, 'blackhole'],
  [2, 'stall'],
  [3, 'drop'],
  [4, 'outage'],
] as const);
/** The hosts that must route the joiner during the faults (an outage host cannot: no path at all). */
const QUIET = [1, 2, 3];
const OUTAGE = 4;
const JOINER = 5;
/** After an outage: the attempt in flight is given up (3 s: the bookmark cadence), then the backoff (at most 10 s). */
const ROUTED_AFTER_OUTAGE_MS = 15_000;
/** An agent's watch opens within ~0.5 s of its start; the stand-in sends a bookmark every second. */
const BOOKMARKS_KNOWN_AFTER_MS = 4000;
const podCIDR = (i: number) => `10.5.${i}.0/24`;

function faultSec(): number {
  const raw = process.env['FLANNEL_TS_FAULT_SEC'];
  if (raw === undefined || raw === '') return 30;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1 || n > 600) throw new Error(`FLANNEL_TS_FAULT_SEC=${JSON.stringify(raw)}: want seconds in [1, 600]`);
  return n;
}

describe(`kube mode when the API server goes quiet (blackhole, stall, drop; ${FAULT_SEC} s)`, { skip, timeout: (FAULT_SEC + 90) * 1000 }, () => {
  let cluster: Cluster;
  let api: ClusterKubeApi;
  const proxies = new Map<number, RunningFaultProxy>();
  const agents = new Map<number, Agent>();
  const pods: Pod[] = [];
  const figures: string[] = [];

  /** A kubeconfig whose server is `url` (the agent's own proxy). */
  const kubeconfig = async (i: number, url: string): Promise<string> => {
    const file = join(cluster.tmpDir, `kubeconfig-h${i}`);
    await writeKubeconfig(file, url);
    return file;
  };
  const start = (i: number, kubeconfigFile: string) => {
    const a = cluster.startAgent(i, { args: [...kubeAgentArgs(api, [`-kubeconfig-file=${kubeconfigFile}`])], env: { NODE_NAME: `node-${i}` } });
    agents.set(i, a);
    return a;
  };
  /** What the API says of the nodes, as the facts a host's kernel state is derived from. */
  const nodeFacts = (): HostFacts[] =>
    [...agents.keys()].map((i) => {
      const n = api.server.store.get(`node-${i}`);
      const ann = n?.metadata.annotations ?? {};
      const data = JSON.parse(ann[`${P}backend-data`] ?? '{}') as { VtepMAC?: string };
      const cidr = n?.spec?.podCIDR;
      assert.ok(cidr, `node-${i} has a podCIDR`);
      return {
        host: i,
        net4: IPNetwork.parse(cidr),
        net6: undefined,
        pub4: ann[`${P}public-ip`],
        pub6: undefined,
        mac4: data.VtepMAC,
        mac6: undefined,
      };
    });

  before(async () => {
    cluster = await createCluster({ hosts: 1 + FAULTS.size, etcd: false });
    api = await startClusterKubeApi(cluster);
    await api.writeNetConf({ Network: '10.5.0.0/16', Backend: { Type: 'vxlan' } });
    const apiAddr = nodeAddress(KUBE_API_SUFFIX);
    for (const i of FAULTS.keys()) {
      proxies.set(
        i,
        await startFaultProxy({
          netns: api.ns,
          listen: { host: apiAddr, port: KUBE_API_PORT + 10 + i },
          target: { host: apiAddr, port: KUBE_API_PORT },
          controlPath: join(cluster.tmpDir, `kube-fault-proxy-${i}.sock`),
          logFile: join(cluster.tmpDir, `kube-fault-proxy-${i}.log`),
          signal: cluster.signal,
        }),
      );
    }
    for (const i of FAULTS.keys()) api.server.store.create({ name: `node-${i}`, podCIDRs: [podCIDR(i)] });
    for (const i of FAULTS.keys()) start(i, await kubeconfig(i, proxies.get(i)!.url));
    for (const i of FAULTS.keys()) pods.push(await addPod(cluster, i, `pod${i}`, await waitForSubnetEnv(agents.get(i)!, 'v4', 20_000)));
    await pingAll(pods, [4], 15_000);
  });

  after(async () => {
    if (figures.length > 0) process.stdout.write(`# kube store faults (${FAULT_SEC} s): ${figures.join('; ')}\n`);
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
    for (const p of proxies.values()) await p.stop().catch(() => {});
    await cluster?.destroy();
  });

  it(`a node joining during the faults is routed by every faulty host within ${ROUTED_WITHIN_MS / 1000} s; pings lose nothing; kernel state equals the nodes`, async (t) => {
    const existing = QUIET;
    // Every agent has its node watch (and whatever else it keeps) open through its proxy.
    for (const [i, p] of proxies) await poll(async () => (await p.stats()).open >= 1, { what: `host ${i}'s connections through its proxy`, timeoutMs: 5000, intervalMs: 100 });
    // Each watch has been open long enough to see two bookmarks (one a second): its agent knows
    // the server's bookmark interval. (A precondition on elapsed time, not a synchronisation.)
    const since = Math.max(...[...agents.values()].map((a) => a.startedAt));
    await poll(() => Date.now() - since >= BOOKMARKS_KNOWN_AFTER_MS, { what: 'two bookmarks on every watch', timeoutMs: BOOKMARKS_KNOWN_AFTER_MS + 1000, intervalMs: 100 });
    const count = Math.round(FAULT_SEC / PING_INTERVAL_S);
    const pings = pods.map((from, k) => {
      const to = pods[(k + 1) % pods.length]!;
      const stream = startPingStream(from, podIp(to, 4), count, PING_INTERVAL_S);
      stream.done.catch(() => {}); // awaited below; a test failing earlier must not leave it unhandled
      return { what: `${from.name} -> ${to.name}`, stream };
    });

    const faultOn = async (mode: Fault, i: number) => {
      const p = proxies.get(i)!;
      // blackhole and drop hit the connections open now; new ones pass (a load-balanced server).
      if (mode === 'outage') await p.set({ mode: 'blackhole' });
      else await p.set({ mode });
      if (mode === 'blackhole' || mode === 'drop') await p.set({ mode: 'pass' });
    };
    await Promise.all([...FAULTS].map(([i, mode]) => faultOn(mode, i)));
    const t0 = Date.now();
    api.server.store.create({ name: `node-${JOINER}`, podCIDRs: [podCIDR(JOINER)] });
    const joiner = start(JOINER, api.kubeconfigFile);
    const env = await waitForSubnetEnv(joiner, 'v4', 15_000);
    const joinerFacts = await hostFacts(cluster, JOINER, SPEC, env);
    t.diagnostic(`joiner leased (annotations published) ${Date.now() - t0} ms after the faults began`);

    // Routed: each faulty host has the joiner's route, neighbour and FDB entry; timed per host.
    const routedAt = new Map<number, number>();
    await poll(
      async () => {
        for (const i of existing) {
          if (routedAt.has(i)) continue;
          const have = await readHostState(cluster, i, SPEC);
          const want = expectedHostState(cluster, SPEC, i, [joinerFacts]);
          const all = (key: 'routes' | 'neighbors' | 'fdb') => want[key].every((x) => have[key].includes(x));
          if (all('routes') && all('neighbors') && all('fdb')) routedAt.set(i, Date.now() - t0);
        }
        return routedAt.size === existing.length;
      },
      { what: `host ${JOINER} routed at every faulty host`, timeoutMs: ROUTED_WITHIN_MS + 20_000, intervalMs: 100, signal: cluster.signal },
    ).catch(() => {});
    for (const i of existing) figures.push(`${FAULTS.get(i)}: routed after ${routedAt.has(i) ? `${(routedAt.get(i)! / 1000).toFixed(1)} s` : 'never'}`);
    t.diagnostic(figures.join('; '));

    const results = await Promise.all(pings.map(async (p) => ({ what: p.what, ...(await p.stream.done) })));
    // The faults end: the stall's held bytes are delivered late; the outage's path is back.
    for (const p of proxies.values()) await p.set({ mode: 'pass' });
    const tEnd = Date.now();
    t.diagnostic(`pings during the faults: ${results.map((r) => `${r.what} ${r.received}/${r.sent}`).join(', ')}`);
    let outageRouted: number | undefined;
    await poll(
      async () => {
        const have = await readHostState(cluster, OUTAGE, SPEC);
        const want = expectedHostState(cluster, SPEC, OUTAGE, [joinerFacts]);
        const all = (key: 'routes' | 'neighbors' | 'fdb') => want[key].every((x) => have[key].includes(x));
        return all('routes') && all('neighbors') && all('fdb');
      },
      { what: `host ${JOINER} routed at host ${OUTAGE} after the outage`, timeoutMs: ROUTED_AFTER_OUTAGE_MS + 15_000, intervalMs: 100, signal: cluster.signal },
    ).then(
      () => (outageRouted = Date.now() - tEnd),
      () => {},
    );
    figures.push(`outage: routed ${outageRouted === undefined ? 'never' : `${(outageRouted / 1000).toFixed(1)} s after it ended`}`);
    t.diagnostic(figures.at(-1)!);
    const logs = await Promise.all([...FAULTS.keys()].map(async (i) => `host ${i}: ${(await agents.get(i)!.readLog()).split('\n').filter((l) => /node watch/.test(l)).join(' | ')}`));
    t.diagnostic(logs.join('\n'));

    for (const i of existing) {
      const at = routedAt.get(i);
      assert.ok(at !== undefined && at <= ROUTED_WITHIN_MS, `${FAULTS.get(i)} (host ${i}): joiner routed after ${at ?? 'never'} ms`);
    }
    assert.ok(outageRouted !== undefined && outageRouted <= ROUTED_AFTER_OUTAGE_MS, `outage (host ${OUTAGE}): joiner routed ${outageRouted ?? 'never'} ms after it ended`);
    for (const r of results) assert.equal(r.sent - r.received, 0, `pings lost ${r.what} during the faults:\n${r.output}`);
    for (const [i, a] of agents) assert.ok(a.running, `agent ${i} still runs`);

    // Afterwards: every host's kernel state is what the nodes in the API say, and the nodes say
    // what the hosts are (their subnets, VTEP MACs and addresses).
    const facts = nodeFacts();
    const real = await Promise.all([...agents.keys()].map(async (i) => hostFacts(cluster, i, SPEC, await agents.get(i)!.waitForSubnetFile())));
    assert.deepEqual(
      facts.map((f) => [f.host, f.net4?.toString(), f.pub4, f.mac4]),
      real.map((f) => [f.host, f.net4?.toString(), f.pub4, f.mac4]),
      'the nodes in the API describe the hosts',
    );
    await poll(
      async () => {
        for (const i of agents.keys()) {
          try {
            assert.deepEqual(await readHostState(cluster, i, SPEC), expectedHostState(cluster, SPEC, i, facts));
          } catch {
            return false;
          }
        }
        return true;
      },
      { what: 'every kernel equal to the nodes', timeoutMs: 10_000, intervalMs: 100, signal: cluster.signal },
    );
    await pingAll([...pods, await addPod(cluster, JOINER, `pod${JOINER}`, env)], [4], 10_000);
  });
});
