/**
 * idle-5000: an agent with 5,000 vxlan peers programmed, after they converged, left alone for
 * BENCH_IDLE_SECONDS (default 60): its CPU time over that window (utime + stime from
 * /proc/<pid>/stat), its RSS at the end, and the periodic resyncs it ran meanwhile (-v=2).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from '../../test/cluster/harness.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { RECONCILED, matchLines, parseLog } from '../support/agent-log.js';
import { withCluster } from '../support/bench-cluster.js';
import { nowMs } from '../support/clock.js';
import { startProgrammed } from '../support/peer-agent.js';
import { SCALE_UNDERLAY_PREFIX, loadLeases, peerLeases, scaleConfig } from '../support/peer-leases.js';
import { readCpuTimes, readMemoryBreakdown, readMemoryStatus } from '../support/proc-status.js';
import { kibToMiB, round, summarize } from '../support/stats.js';

const PEERS = 5000;
const SETTLE_MS = 2000;

function idleSeconds(): number {
  const n = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
  return Number.isFinite(n) && n >= 1 && n <= 3600 ? n : 60;
}

export const idle5000: Scenario = {
  name: 'idle-5000',
  description: `${PEERS} vxlan peers programmed, then ${idleSeconds()} s idle (BENCH_IDLE_SECONDS): agent CPU and RSS`,
  timeoutMs: 120_000 + idleSeconds() * 1000,
  needsRoot: true,
  run: (ctx) =>
    withCluster({ hosts: 1, config: scaleConfig('vxlan'), signal: ctx.signal, underlayPrefixLength: SCALE_UNDERLAY_PREFIX }, (cluster) => measure(cluster, ctx)),
};

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const seconds = idleSeconds();
  await loadLeases(cluster, peerLeases(PEERS, 'vxlan'), signal);
  const s = await startProgrammed(cluster, 1, { backend: 'vxlan', peers: PEERS, args: ['-v=2'], timeoutMs: 90_000, signal });
  await delay(SETTLE_MS, undefined, { signal });
  ctx.progress(`${PEERS} peers programmed; measuring ${seconds} s of idle`);
  const logFrom = (await s.agent.readLog()).length;
  const t0 = nowMs();
  const before = await readCpuTimes(s.nodePid);
  await delay(seconds * 1000, undefined, { signal });
  const after = await readCpuTimes(s.nodePid);
  const elapsedS = (nowMs() - t0) / 1000;
  const [mem, split] = await Promise.all([readMemoryStatus(s.nodePid), readMemoryBreakdown(s.nodePid)]);
  if (!before || !after || !mem || !split || !s.agent.running) throw new Error(`agent node process ${s.nodePid} gone while idling`);
  const resyncs = matchLines(parseLog((await s.agent.readLog()).slice(logFrom)), RECONCILED).filter((x) => x.m[2] === 'periodic resync');
  const code = await s.agent.stop();
  if (code !== 0) throw new Error(`agent exited with ${code} on SIGTERM`);

  const user = after.userMs - before.userMs;
  const system = after.systemMs - before.systemMs;
  const r = summarize(resyncs.map((x) => Number(x.m[4])));
  const changes = resyncs.reduce((n, x) => n + Number(x.m[3]), 0);
  return [
    {
      metric: `agent CPU over ${seconds} s idle`,
      value: round(((user + system) / 1000 / elapsedS) * 100, 3),
      unit: '% of a core',
      note: `user ${user} ms + system ${system} ms in ${round(elapsedS, 1)} s (10 ms ticks)`,
    },
    { metric: 'agent CPU time while idle', value: user + system, unit: 'ms' },
    {
      metric: 'periodic resyncs while idle',
      value: resyncs.length,
      unit: 'resyncs',
      note: resyncs.length > 0 ? `each a dump and diff of ${PEERS * 3} entries: p50 ${r.p50} ms, max ${r.max} ms, ${changes} kernel changes in all` : 'none logged',
    },
    { metric: 'VmRSS after idle', value: kibToMiB(mem.vmRssKiB), unit: 'MiB', reference: 'Go flannel 45 MB', note: `anonymous ${kibToMiB(split.rssAnonKiB)} MiB + file ${kibToMiB(split.rssFileKiB)} MiB` },
    { metric: 'VmHWM (peak since start)', value: kibToMiB(mem.vmHwmKiB), unit: 'MiB' },
  ];
}
