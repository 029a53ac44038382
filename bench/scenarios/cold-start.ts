/**
 * cold-start-<backend>-<n>: n remote leases already in etcd, one agent starts. Time from spawn
 * until every route (and for vxlan every neighbour and FDB entry) is in its kernel, seen from
 * outside by procfs reads every 10 ms (bounds given) and as the agent logs its reconcile; the
 * agent's peak RSS and its user/system CPU time up to then. One factory, four scenarios.
 */
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { withCluster } from '../support/bench-cluster.js';
import { startProgrammed } from '../support/peer-agent.js';
import { SCALE_UNDERLAY_PREFIX, loadLeases, peerLeases, scaleConfig, type PeerBackend } from '../support/peer-leases.js';
import { readCpuTimes, readMemoryBreakdown, readMemoryStatus } from '../support/proc-status.js';
import { kibToMiB, msToS, round } from '../support/stats.js';

/** Go flannel v0.20.2 on this machine, same kind of namespace cluster (issue 3). */
const GO_REFERENCE: Record<PeerBackend, Record<number, string>> = {
  vxlan: { 5000: 'Go flannel 3.4 s; target 0.5 s' },
  'host-gw': { 5000: 'Go flannel 23 s; target 0.5 s' },
};

export function coldStart(backend: PeerBackend, peers: number): Scenario {
  const tag = backend === 'host-gw' ? 'hostgw' : backend;
  return {
    name: `cold-start-${tag}-${peers}`,
    description: `${peers} ${backend} leases in etcd, one agent starts: spawn → all peers in the kernel, peak RSS`,
    timeoutMs: 180_000,
    needsRoot: true,
    run: (ctx) =>
      withCluster({ hosts: 1, config: scaleConfig(backend), signal: ctx.signal, underlayPrefixLength: SCALE_UNDERLAY_PREFIX }, (cluster) =>
        measure(cluster, backend, peers, ctx),
      ),
  };
}

async function measure(cluster: Cluster, backend: PeerBackend, peers: number, ctx: ScenarioContext): Promise<Metric[]> {
  const loaded = await loadLeases(cluster, peerLeases(peers, backend), ctx.signal);
  ctx.progress(`loaded ${peers} leases in ${loaded.txns} transactions (${loaded.loadMs} ms); starting the agent`);
  const s = await startProgrammed(cluster, 1, { backend, peers, timeoutMs: 90_000, signal: ctx.signal });
  const [mem, split, cpu] = await Promise.all([readMemoryStatus(s.nodePid), readMemoryBreakdown(s.nodePid), readCpuTimes(s.nodePid)]);
  if (!mem || !cpu || !split) throw new Error(`agent node process ${s.nodePid} gone after programming`);
  const code = await s.agent.stop();
  if (code !== 0) throw new Error(`agent exited with ${code} on SIGTERM`);

  const entries = backend === 'vxlan' ? `${peers} routes, ${peers} neighbours, ${peers} FDB entries` : `${peers} routes`;
  const rel = (t: number | undefined) => (t === undefined ? NaN : t - s.spawnWall);
  const reconcileStart = s.reconciled.line.time - s.reconciled.ms;
  ctx.progress(`all ${entries} after ${round(rel(s.kernel.at), 1)} ms (agent: reconcile ${s.reconciled.ms} ms)`);
  return [
    {
      metric: `spawn → all ${peers} peers in kernel`,
      value: msToS(rel(s.kernel.at)),
      unit: 's',
      reference: GO_REFERENCE[backend][peers] ?? '',
      note: `${entries}; polled from outside: complete by ${round(rel(s.kernel.at), 1)} ms, still incomplete at ${round(rel(s.kernel.notYetAt), 1)} ms (${s.kernel.polls} polls, ${round(s.kernel.meanReadMs, 1)} ms per read of /proc/<pid>/net/route)`,
    },
    {
      metric: 'agent: initial reconcile (dump, diff, program)',
      value: round(s.reconciled.ms, 1),
      unit: 'ms',
      note: `agent log: "${s.reconciled.line.message}"`,
    },
    {
      metric: 'agent CPU in the reconcile: user',
      value: s.reconcileCpu?.userMs ?? NaN,
      unit: 'ms',
      note: s.reconcileCpu ? `our JavaScript, V8 and GC; /proc/<pid>/stat sampled every 10 ms, window ${round(s.reconcileCpu.windowMs, 1)} ms around the reconcile` : 'no samples bracket the reconcile',
    },
    { metric: 'agent CPU in the reconcile: system', value: s.reconcileCpu?.systemMs ?? NaN, unit: 'ms', note: 'the kernel applying our netlink requests (runs inside our sendmsg calls)' },
    { metric: 'spawn → agent logged reconcile done', value: msToS(rel(s.reconciled.line.time)), unit: 's', note: 'klog time, ms precision' },
    {
      metric: 'spawn → reconcile start',
      value: round(rel(reconcileStart), 1),
      unit: 'ms',
      note: `node start-up (spawn → first log line) ${round(rel(s.starting?.time), 1)} ms, spawn → subnet.env ${round(rel(s.wroteSubnetFile?.time), 1)} ms, spawn → lease snapshot logged ${round(rel(s.leasesKnown?.time), 1)} ms`,
    },
    {
      metric: 'peak RSS (VmHWM)',
      value: kibToMiB(mem.vmHwmKiB),
      unit: 'MiB',
      reference: 'Go flannel 45 MB; target < 80 MB',
      note: `now VmRSS ${kibToMiB(mem.vmRssKiB)} MiB = anonymous ${kibToMiB(split.rssAnonKiB)} MiB (V8 heap, JIT, buffers) + file ${kibToMiB(split.rssFileKiB)} MiB (node binary, libraries)`,
    },
    { metric: 'agent CPU until programmed: user', value: round(cpu.userMs, 0), unit: 'ms', note: 'node start-up and module loading included' },
    { metric: 'agent CPU until programmed: system', value: round(cpu.systemMs, 0), unit: 'ms', note: 'the kernel working for the agent (netlink requests and dumps)' },
  ];
}

export const coldStartVxlan1000 = coldStart('vxlan', 1000);
export const coldStartVxlan5000 = coldStart('vxlan', 5000);
export const coldStartHostgw1000 = coldStart('host-gw', 1000);
export const coldStartHostgw5000 = coldStart('host-gw', 5000);
