/**
 * teardown-5000: an agent has 5,000 vxlan peers programmed; the one etcd lease all 5,000 keys
 * are bound to is revoked (one revision deleting them all, one watch response). Time from the
 * revoke request until no route, neighbour or FDB entry of theirs is left in the kernel, seen
 * from outside (procfs for neighbours and routes, then an FDB dump) and as the agent logs it.
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { poll } from '../../test/support/poll.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { APPLIED, REMOTE_LEASES, matchLines, parseLog } from '../support/agent-log.js';
import { withCluster } from '../support/bench-cluster.js';
import { nowMs } from '../support/clock.js';
import { waitForEntries } from '../support/kernel-count.js';
import { VXLAN_DEVICE, startProgrammed } from '../support/peer-agent.js';
import { SCALE_UNDERLAY_PREFIX, loadLeases, peerLeases, scaleConfig } from '../support/peer-leases.js';
import { readCpuTimes } from '../support/proc-status.js';
import { msToS, round } from '../support/stats.js';

const PEERS = 5000;

export const teardown5000: Scenario = {
  name: 'teardown-5000',
  description: `${PEERS} vxlan peers programmed, their etcd lease revoked at once: revoke → every kernel entry gone`,
  timeoutMs: 180_000,
  needsRoot: true,
  run: (ctx) =>
    withCluster({ hosts: 1, config: scaleConfig('vxlan'), signal: ctx.signal, underlayPrefixLength: SCALE_UNDERLAY_PREFIX }, (cluster) => measure(cluster, ctx)),
};

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const loaded = await loadLeases(cluster, peerLeases(PEERS, 'vxlan'), signal);
  const s = await startProgrammed(cluster, 1, { backend: 'vxlan', peers: PEERS, timeoutMs: 90_000, signal });
  ctx.progress(`${PEERS} peers programmed after ${round(s.kernel.at - s.spawnWall, 1)} ms; revoking etcd lease ${loaded.etcdLease}`);
  const logBefore = (await s.agent.readLog()).length;
  const cpuBefore = await readCpuTimes(s.nodePid);
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  let t0: number;
  let revokedAt: number;
  try {
    t0 = nowMs();
    await client.revokeLease(loaded.etcdLease, { signal });
    revokedAt = nowMs();
  } finally {
    client.close();
  }
  const gone = await waitForEntries({
    ns: cluster.hostNs(1),
    dev: VXLAN_DEVICE,
    kinds: ['neighbors', 'routes', 'fdb'],
    target: 0,
    t0,
    timeoutMs: 30_000,
    signal,
    failIf: () => (s.agent.running ? undefined : `the agent exited with code ${s.agent.exitCode}`),
  });
  const cpuAfter = await readCpuTimes(s.nodePid);
  const found = await poll(
    async () => {
      const lines = parseLog((await s.agent.readLog()).slice(logBefore));
      const applied = matchLines(lines, APPLIED).filter((x) => Number(x.m[1]) > 0);
      const leases = matchLines(lines, REMOTE_LEASES);
      const removed = applied.reduce((n, x) => n + Number(x.m[1]), 0);
      return removed >= PEERS ? { applied, leases } : undefined;
    },
    { what: `the agent to log applying ${PEERS} removals`, timeoutMs: 10_000, intervalMs: 20, signal },
  );
  const code = await s.agent.stop();
  if (code !== 0) throw new Error(`agent exited with ${code} on SIGTERM`);

  const last = found.applied[found.applied.length - 1];
  const appliedMs = found.applied.reduce((n, x) => n + Number(x.m[3]), 0);
  const changes = found.applied.reduce((n, x) => n + Number(x.m[2]), 0);
  const cpu = cpuBefore && cpuAfter ? `agent CPU during teardown: user ${cpuAfter.userMs - cpuBefore.userMs} ms, system ${cpuAfter.systemMs - cpuBefore.systemMs} ms` : 'agent CPU unknown';
  return [
    {
      metric: `revoke → all ${PEERS} peers' entries gone`,
      value: msToS(gone.at - t0),
      unit: 's',
      reference: 'Go flannel v0.20.2 never finishes; target 1 s',
      note: `polled from outside: gone by ${round(gone.at - t0, 1)} ms, still present at ${round(gone.notYetAt - t0, 1)} ms (${gone.polls} polls); revoke request took ${round(revokedAt - t0, 1)} ms`,
    },
    {
      metric: 'agent: applying the removals',
      value: round(appliedMs, 1),
      unit: 'ms',
      note: `${found.applied.length} watch batch(es), ${changes} kernel changes; agent log: "${last?.line.message ?? '?'}"`,
    },
    { metric: 'revoke → agent logged removals done', value: msToS((last?.line.time ?? NaN) - t0), unit: 's', note: `klog time, ms precision; ${cpu}` },
    { metric: 'lease watch batches seen by the agent', value: found.leases.length, unit: 'batches', note: found.leases.map((l) => `"${l.line.message}"`).join('; ') },
  ];
}
