/**
 * convergence: ten hosts run vxlan agents; an eleventh joins (its agent starts and creates its
 * lease), later leaves (its agent stops, its lease is deleted). For each other host, the time
 * until its kernel has (has dropped) the route to the eleventh's subnet, read from `ip -ts
 * monitor route` started in every host beforehand. Join is timed from the lease's creation:
 * the earlier of the bench's own etcd watch delivering it and the new agent logging "acquired
 * lease"; leave from just before the delete request. Repeated BENCH_CONVERGENCE_ROUNDS times
 * (default 5); p50 and worst over all hosts and rounds.
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { ACQUIRED, APPLIED, findLine, matchLines, parseLog } from '../support/agent-log.js';
import { withCluster } from '../support/bench-cluster.js';
import { nowMs } from '../support/clock.js';
import { waitForEntries } from '../support/kernel-count.js';
import { LeaseWatch } from '../support/lease-watch.js';
import { agentCommand } from '../support/agent-command.js';
import { VXLAN_DEVICE } from '../support/peer-agent.js';
import { SUBNETS_PREFIX } from '../support/peer-leases.js';
import { RouteMonitor } from '../support/route-monitor.js';
import { round, summarize } from '../support/stats.js';

const RUNNING = 10;
const JOINER = RUNNING + 1;
const CONFIG = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };

function rounds(): number {
  const n = Number(process.env.BENCH_CONVERGENCE_ROUNDS ?? 5);
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 5;
}

export const convergence: Scenario = {
  name: 'convergence',
  description: `${RUNNING} vxlan hosts, one joins and leaves (${rounds()}x): lease change → route on every other host`,
  timeoutMs: 240_000,
  needsRoot: true,
  run: (ctx) => withCluster({ hosts: JOINER, config: CONFIG, signal: ctx.signal }, (cluster) => measure(cluster, ctx)),
};

/** `/coreos.com/network/subnets/10.244.5.0-24` → `10.244.5.0/24`. */
function keyToSubnet(key: string): string {
  return key.slice(SUBNETS_PREFIX.length).replace('-', '/');
}

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const hosts = Array.from({ length: RUNNING }, (_, i) => i + 1);
  const command = agentCommand();
  const agents = hosts.map((h) => cluster.startAgent(h, { args: ['-v=1'], command }));
  await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 30_000, signal })));
  await Promise.all(
    hosts.map((h) => waitForEntries({ ns: cluster.hostNs(h), dev: VXLAN_DEVICE, kinds: ['routes'], target: RUNNING - 1, t0: nowMs(), timeoutMs: 30_000, signal })),
  );
  ctx.progress(`${RUNNING} agents up and meshed; starting route monitors`);
  const monitors = await Promise.all(hosts.map((h) => RouteMonitor.start(cluster.hostNs(h), signal)));
  const watch = await LeaseWatch.start(cluster, signal);
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  const join: number[] = [];
  const leave: number[] = [];
  const leaveViaWatch: number[] = [];
  const joinViaWatch: number[] = [];
  const agentApplyMs: number[] = [];
  const logOffsets = await Promise.all(agents.map(async (a) => (await a.readLog()).length));
  try {
    for (let r = 0; r < rounds(); r++) {
      // Join.
      const from = monitors.map((m) => m.length);
      const wFrom = watch.events.length;
      const joiner = cluster.startAgent(JOINER, { args: ['-v=1'], command });
      await joiner.waitForSubnetFile({ timeoutMs: 30_000, signal, fresh: true });
      const joinerIp = cluster.hostAddress(JOINER);
      const created = watch.find((e) => e.type === 'put' && e.key.startsWith(SUBNETS_PREFIX) && e.value.includes(`"${joinerIp}"`), wFrom);
      if (!created) throw new Error(`round ${r + 1}: the bench watch did not see host ${JOINER}'s lease`);
      const subnet = keyToSubnet(created.key);
      const acquired = findLine(parseLog(await joiner.readLog()), ACQUIRED);
      const t0 = Math.min(created.at, acquired?.time ?? Infinity);
      const added = await Promise.all(
        monitors.map((m, i) => m.waitFor((e) => !e.deleted && e.dst === subnet, { from: from[i] ?? 0, timeoutMs: 10_000, what: `host ${i + 1} to route ${subnet}`, signal })),
      );
      for (const e of added) {
        join.push(e.time - t0);
        joinViaWatch.push(e.time - created.at);
      }
      // Leave.
      const code = await joiner.stop();
      if (code !== 0) throw new Error(`round ${r + 1}: agent on host ${JOINER} exited with ${code} on SIGTERM`);
      const from2 = monitors.map((m) => m.length);
      const t1 = nowMs();
      const deleted = await client.delete(created.key, { signal });
      if (deleted !== 1) throw new Error(`round ${r + 1}: deleting ${created.key} removed ${deleted} keys`);
      const removed = await Promise.all(
        monitors.map((m, i) => m.waitFor((e) => e.deleted && e.dst === subnet, { from: from2[i] ?? 0, timeoutMs: 10_000, what: `host ${i + 1} to drop ${subnet}`, signal })),
      );
      const gone = watch.find((e) => e.type === 'delete' && e.key === created.key, wFrom);
      for (const e of removed) {
        leave.push(e.time - t1);
        if (gone) leaveViaWatch.push(e.time - gone.at);
      }
      ctx.progress(`round ${r + 1}: ${subnet} joined (worst ${round(Math.max(...added.map((e) => e.time - t0)), 1)} ms), left (worst ${round(Math.max(...removed.map((e) => e.time - t1)), 1)} ms)`);
    }
    for (const [i, a] of agents.entries()) {
      const lines = parseLog((await a.readLog()).slice(logOffsets[i] ?? 0));
      for (const x of matchLines(lines, APPLIED)) agentApplyMs.push(Number(x.m[3]));
    }
  } finally {
    client.close();
    await watch.close();
    await Promise.all(monitors.map((m) => m.stop()));
  }
  const j = summarize(join);
  const l = summarize(leave);
  const jw = summarize(joinViaWatch);
  const lw = summarize(leaveViaWatch);
  const ap = summarize(agentApplyMs);
  const n = `${rounds()} rounds x ${RUNNING} hosts (n=${j.n})`;
  return [
    { metric: 'join: lease created → route on other host, p50', value: round(j.p50, 2), unit: 'ms', reference: 'Go flannel 35–55 ms', note: `${n}; t0 = earlier of the bench's etcd watch and the joiner's "acquired lease" log line; route time from ip -ts monitor` },
    { metric: 'join: worst', value: round(j.max, 2), unit: 'ms', reference: 'target < 25 ms', note: `min ${round(j.min, 2)} ms` },
    { metric: 'join: from the bench watch seeing the lease, p50', value: round(jw.p50, 2), unit: 'ms', note: `worst ${round(jw.max, 2)} ms: etcd → agent watch → kernel, without the commit-to-watch delay` },
    { metric: 'leave: delete request → route gone, p50', value: round(l.p50, 2), unit: 'ms', reference: 'Go flannel 35–55 ms', note: `${n}; the joiner's agent stopped first, then its lease deleted` },
    { metric: 'leave: worst', value: round(l.max, 2), unit: 'ms', reference: 'target < 25 ms', note: `min ${round(l.min, 2)} ms; includes etcd's commit (WAL fsync) of the delete` },
    { metric: 'leave: from the bench watch seeing the delete, p50', value: round(lw.p50, 2), unit: 'ms', note: `worst ${round(lw.max, 2)} ms (n=${lw.n}), comparable with the join figure above` },
    { metric: 'agent: applying one lease event, p50', value: round(ap.p50, 2), unit: 'ms', note: `from the agents' -v=1 "applied ..." lines (n=${ap.n}), worst ${round(ap.max, 2)} ms` },
  ];
}
