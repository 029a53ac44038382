/**
 * startup-5000: 5,000 leases already in etcd (bulk-loaded in transactions, all bound to one
 * etcd lease), then one agent starts. Measures spawn → subnet.env, spawn → all 5,000 remote
 * leases known (its `leases: ... 5000 remote leases now` log line), the agent's peak RSS, and
 * the gRPC calls etcd served for it (from etcd's /metrics, before/after).
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { poll } from '../../test/support/poll.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { REMOTE_LEASES, parseLog } from '../support/agent-log.js';
import { startTimed, withCluster } from '../support/bench-cluster.js';
import { bulkPut, countDelta, grpcCallCounts, type BulkEntry } from '../support/etcd-gateway.js';
import { readMemoryStatus } from '../support/proc-status.js';
import { kibToMiB, msToS, round } from '../support/stats.js';

const LEASES = 5000;
const SUBNETS_PREFIX = '/coreos.com/network/subnets/';
const CONFIG = { Network: '10.0.0.0/8', Backend: { Type: 'alloc' } };

export const startup5000: Scenario = {
  name: 'startup-5000',
  description: `${LEASES} leases in etcd, one agent starts: time to subnet.env, to all leases, peak RSS, etcd calls`,
  timeoutMs: 180_000,
  needsRoot: true,
  run: (ctx) => withCluster({ hosts: 1, config: CONFIG, signal: ctx.signal }, (cluster) => measure(cluster, ctx)),
};

/** Leases on /24s from 10.0.1.0 upward, as a growing cluster fills them, with made-up public IPs. */
export function syntheticLeases(count: number): BulkEntry[] {
  const out: BulkEntry[] = [];
  for (let i = 1; i <= count; i++) {
    const subnet = `10.${(i >> 8) & 255}.${i & 255}.0-24`;
    const publicIP = `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    out.push({ key: `${SUBNETS_PREFIX}${subnet}`, value: JSON.stringify({ PublicIP: publicIP, PublicIPv6: null }) });
  }
  return out;
}

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const socket = cluster.etcd.socketPath;
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  let loadMs: number;
  let txns: number;
  try {
    const lease = await client.grantLease(3600, { signal });
    const t = Date.now();
    txns = await bulkPut(socket, syntheticLeases(LEASES), lease.id, { signal });
    loadMs = Date.now() - t;
    const { kvs } = await client.rangePrefix(SUBNETS_PREFIX, { signal });
    if (kvs.length !== LEASES) throw new Error(`bulk load: ${kvs.length} leases in etcd, want ${LEASES}`);
  } finally {
    client.close();
  }
  ctx.progress(`loaded ${LEASES} leases in ${txns} transactions (${loadMs} ms); starting the agent`);

  const before = await grpcCallCounts(socket, signal);
  const start = await startTimed(cluster, 1, { signal, timeoutMs: 60_000 });
  ctx.progress(`subnet.env after ${start.toSubnetFileMs.toFixed(1)} ms; waiting for all ${LEASES} remote leases`);
  let peakSampledKiB = 0;
  const allKnown = await poll(
    async () => {
      const mem = await readMemoryStatus(start.nodePid);
      if (mem) peakSampledKiB = Math.max(peakSampledKiB, mem.vmRssKiB);
      if (!start.agent.running) throw new Error(`agent exited with ${start.agent.exitCode} before knowing all leases`);
      const lines = parseLog(await start.agent.readLog());
      return lines.find((l) => Number(REMOTE_LEASES.exec(l.message)?.[1] ?? 0) >= LEASES);
    },
    { what: `the agent to log ${LEASES} remote leases`, timeoutMs: 60_000, intervalMs: 20, signal },
  );
  const mem = await readMemoryStatus(start.nodePid);
  // The watch opens right after the listing that produced the log line: wait for it (bounded).
  const calls = await poll(
    async () => {
      const delta = countDelta(before, await grpcCallCounts(socket, signal));
      return delta.has('Watch') ? delta : undefined;
    },
    { what: 'the agent to open its etcd watch', timeoutMs: 5000, intervalMs: 20, signal },
  );
  const totalCalls = [...calls.values()].reduce((a, b) => a + b, 0);
  const code = await start.agent.stop();
  if (code !== 0) throw new Error(`agent exited with ${code} on SIGTERM`);
  if (!mem) throw new Error(`agent node process ${start.nodePid} gone before its memory was read`);

  const breakdown = [...calls].map(([m, n]) => `${m} ${n}`).join(', ');
  return [
    { metric: 'spawn → subnet.env', value: msToS(start.toSubnetFileMs), unit: 's', reference: 'Go flannel 1.5 s', note: `node start-up ${start.nodeStartupMs} ms, agent work ${start.agentWorkMs} ms` },
    { metric: `spawn → all ${LEASES} remote leases`, value: msToS(allKnown.time - start.spawnWall), unit: 's', note: `agent log: "${allKnown.message}"` },
    { metric: 'peak RSS (VmHWM)', value: kibToMiB(mem.vmHwmKiB), unit: 'MiB', reference: 'Go flannel 45 MB', note: `node pid ${start.nodePid}` },
    { metric: 'RSS after all leases (VmRSS)', value: kibToMiB(mem.vmRssKiB), unit: 'MiB', note: `highest sampled every 20 ms: ${kibToMiB(peakSampledKiB)} MiB` },
    { metric: 'etcd gRPC calls by the agent', value: totalCalls, unit: 'calls', note: `etcd /metrics grpc_server_started_total delta: ${breakdown || 'none'}` },
    { metric: 'bulk load (bench set-up)', value: round(loadMs / 1000, 3), unit: 's', note: `${txns} txn requests` },
  ];
}
