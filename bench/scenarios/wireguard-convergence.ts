/**
 * wireguard-convergence: five hosts run wireguard agents (wireguard-go); a sixth joins (its agent
 * starts and creates its lease) and leaves (its agent stops, its lease is deleted). For each other
 * host, the time from the lease's creation (deletion) until that host's agent has the peer set in
 * (removed from) its wireguard-go: its -v=1 "applied ..." log line, which it writes when the UAPI
 * set has been answered (klog time, ms precision). Repeated BENCH_CONVERGENCE_ROUNDS times
 * (default 5); p50 and worst over all hosts and rounds. A ping from every host's pod is not
 * used: the first packet to a new peer also waits for a WireGuard handshake, which is the
 * implementation's, not flannel-ts's.
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import { createCluster, type Agent, type Cluster } from '../../test/cluster/harness.js';
import { poll } from '../../test/support/poll.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { APPLIED, matchLines, parseLog } from '../support/agent-log.js';
import { agentCommand } from '../support/agent-command.js';
import { nowMs } from '../support/clock.js';
import { LeaseWatch } from '../support/lease-watch.js';
import { SUBNETS_PREFIX } from '../support/peer-leases.js';
import { round, summarize } from '../support/stats.js';

const RUNNING = 5;
const JOINER = RUNNING + 1;

function rounds(): number {
  const n = Number(process.env.BENCH_CONVERGENCE_ROUNDS ?? 5);
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 5;
}

/** The time of the first "applied" line of `agent` after log offset `from`. */
async function appliedAfter(agent: Agent, from: number, what: string, signal: AbortSignal): Promise<number> {
  return poll(
    async () => {
      const lines = parseLog((await agent.readLog()).slice(from));
      return matchLines(lines, APPLIED)[0]?.line.time;
    },
    { what, timeoutMs: 15_000, intervalMs: 10, signal },
  );
}

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const hosts = Array.from({ length: RUNNING }, (_, i) => i + 1);
  const command = agentCommand();
  const agents = hosts.map((h) => cluster.startAgent(h, { args: ['-v=1'], command }));
  await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 30_000, signal })));
  await poll(async () => (await Promise.all(hosts.map(async (h) => (await cluster.exec(h, ['wg', 'show', 'flannel-wg', 'peers'])).stdout.trim().split('\n').length))).every((n) => n === RUNNING - 1), {
    what: 'every host to have every other as a peer',
    timeoutMs: 30_000,
    intervalMs: 100,
    signal,
  });
  ctx.progress(`${RUNNING} agents up and meshed`);
  const watch = await LeaseWatch.start(cluster, signal);
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  const join: number[] = [];
  const leave: number[] = [];
  try {
    for (let r = 0; r < rounds(); r++) {
      const offsets = await Promise.all(agents.map(async (a) => (await a.readLog()).length));
      const wFrom = watch.events.length;
      const joiner = cluster.startAgent(JOINER, { args: ['-v=1'], command });
      await joiner.waitForSubnetFile({ timeoutMs: 30_000, signal, fresh: true });
      const ip = cluster.hostAddress(JOINER);
      const created = watch.find((e) => e.type === 'put' && e.key.startsWith(SUBNETS_PREFIX) && e.value.includes(`"${ip}"`), wFrom);
      if (!created) throw new Error(`round ${r + 1}: the bench watch did not see host ${JOINER}'s lease`);
      const added = await Promise.all(agents.map((a, i) => appliedAfter(a, offsets[i] ?? 0, `host ${i + 1} to add the joiner`, signal)));
      for (const t of added) join.push(t - created.at);
      const code = await joiner.stop();
      if (code !== 0) throw new Error(`round ${r + 1}: the joiner exited with ${code}`);
      const offsets2 = await Promise.all(agents.map(async (a) => (await a.readLog()).length));
      const t1 = nowMs();
      await client.delete(created.key, { signal });
      const removed = await Promise.all(agents.map((a, i) => appliedAfter(a, offsets2[i] ?? 0, `host ${i + 1} to remove the joiner`, signal)));
      for (const t of removed) leave.push(t - t1);
      ctx.progress(`round ${r + 1}: joined (worst ${round(Math.max(...added) - created.at, 1)} ms), left (worst ${round(Math.max(...removed) - t1, 1)} ms)`);
    }
  } finally {
    client.close();
    await watch.close();
  }
  const j = summarize(join);
  const l = summarize(leave);
  const n = `${rounds()} rounds x ${RUNNING} hosts (n=${j.n}); klog times have ms precision`;
  return [
    { metric: 'join: lease seen by the bench watch → peer set on other host, p50', value: round(j.p50, 2), unit: 'ms', reference: 'target < 25 ms', note: n },
    { metric: 'join: worst', value: round(j.max, 2), unit: 'ms', reference: 'target < 25 ms', note: `min ${round(j.min, 2)} ms` },
    { metric: 'leave: delete request → peer removed on other host, p50', value: round(l.p50, 2), unit: 'ms', note: `${n}; includes etcd's commit of the delete` },
    { metric: 'leave: worst', value: round(l.max, 2), unit: 'ms', note: `min ${round(l.min, 2)} ms` },
  ];
}

export const wireguardConvergence: Scenario = {
  name: 'wireguard-convergence',
  description: `${RUNNING} wireguard hosts, one joins and leaves (${rounds()}x): lease change → peer set in every other host's wireguard-go`,
  timeoutMs: 240_000,
  needsRoot: true,
  run: async (ctx) => {
    const cluster = await createCluster({ hosts: JOINER, signal: ctx.signal, privateDirs: ['/run/wireguard', '/run/flannel'] });
    try {
      await cluster.putConfig({ Network: '10.244.0.0/16', Backend: { Type: 'wireguard' } });
      return await measure(cluster, ctx);
    } finally {
      await cluster.destroy();
    }
  },
};
