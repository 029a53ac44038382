/**
 * startup-3: one agent starts while two others already hold leases; time from just before
 * spawn until its subnet.env is written, split into Node start-up (spawn → first log line)
 * and agent work (first log line → `wrote subnet.env`). Repeated with a fresh lease each time
 * (its etcd key and subnet.env removed before) and as a restart (lease kept, file removed).
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { startTimed, withCluster, type TimedStart } from '../support/bench-cluster.js';
import { msToS, round, summarize } from '../support/stats.js';

const REPEATS = 5;
const SUBNETS_PREFIX = '/coreos.com/network/subnets/';
const CONFIG = { Network: '10.244.0.0/16', Backend: { Type: 'alloc' } };

export const startup3: Scenario = {
  name: 'startup-3',
  description: `3 hosts: third agent start to subnet.env written (${REPEATS}x fresh lease, ${REPEATS}x restart)`,
  timeoutMs: 120_000,
  needsRoot: true,
  run: (ctx) => withCluster({ hosts: 3, config: CONFIG, signal: ctx.signal }, (cluster) => measure(cluster, ctx)),
};

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  try {
    ctx.progress('starting agents on hosts 1 and 2');
    await Promise.all([1, 2].map((h) => startTimed(cluster, h, { signal, timeoutMs: 20_000 })));
    const fresh: TimedStart[] = [];
    const restart: TimedStart[] = [];
    for (let r = 0; r < 2 * REPEATS; r++) {
      const isFresh = r < REPEATS;
      if (isFresh) await deleteLeaseOf(client, cluster.hostAddress(3), signal);
      const t = await startTimed(cluster, 3, { signal, timeoutMs: 20_000 });
      (isFresh ? fresh : restart).push(t);
      ctx.progress(`${isFresh ? 'fresh' : 'restart'} #${(r % REPEATS) + 1}: ${t.toSubnetFileMs.toFixed(1)} ms to subnet.env (node ${t.nodeStartupMs} ms, agent ${t.agentWorkMs} ms, seen by ${t.via})`);
      const code = await t.agent.stop();
      if (code !== 0) throw new Error(`agent on host 3 exited with ${code} on SIGTERM`);
    }
    return [...rows('fresh lease', fresh, true), ...rows('restart, lease kept', restart, false)];
  } finally {
    client.close();
  }
}

/** Deletes the lease whose PublicIP is `ip`, so the next start acquires a new one. */
async function deleteLeaseOf(client: EtcdHttpClient, ip: string, signal: AbortSignal): Promise<void> {
  const { kvs } = await client.rangePrefix(SUBNETS_PREFIX, { signal });
  for (const kv of kvs) {
    if ((JSON.parse(kv.value) as { PublicIP?: string }).PublicIP === ip) await client.delete(kv.key, { signal });
  }
}

function rows(kind: string, runs: readonly TimedStart[], withReference: boolean): Metric[] {
  const total = summarize(runs.map((r) => r.toSubnetFileMs));
  const node = summarize(runs.map((r) => r.nodeStartupMs));
  const work = summarize(runs.map((r) => r.agentWorkMs));
  const n = `n=${total.n}`;
  return [
    {
      metric: `${kind}: spawn → subnet.env p50`,
      value: msToS(total.p50),
      unit: 's',
      ...(withReference ? { reference: 'Go flannel 0.12 s' } : {}),
      note: n,
    },
    { metric: `${kind}: spawn → subnet.env min`, value: msToS(total.min), unit: 's' },
    { metric: `${kind}: spawn → subnet.env max`, value: msToS(total.max), unit: 's' },
    { metric: `${kind}: node start-up p50`, value: round(node.p50, 1), unit: 'ms', note: `spawn → first log line; ${n}, min ${node.min}, max ${node.max}` },
    { metric: `${kind}: agent work p50`, value: round(work.p50, 1), unit: 'ms', note: `first log line → "wrote subnet.env"; ${n}, min ${work.min}, max ${work.max}` },
  ];
}
