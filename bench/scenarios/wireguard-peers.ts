/**
 * wireguard-peers-<n>: n wireguard leases already in etcd, one agent starts (userspace
 * WireGuard: this kernel has none). Time from spawn until wireguard-go holds every peer (counted
 * from outside with `wg show flannel-wg peers`, and as the agent logs its reconcile), the agent's
 * peak RSS and CPU, and wireguard-go's peak RSS with that many peers.
 */
import { readFile } from 'node:fs/promises';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { createCluster, type Cluster } from '../../test/cluster/harness.js';
import { poll } from '../../test/support/poll.js';
import { runIn } from '../../test/support/netns.js';
import { agentCommand } from '../support/agent-command.js';
import { RECONCILED, STARTING, WROTE_SUBNET_FILE, findLine, matchLines, parseLog } from '../support/agent-log.js';
import { nowMs } from '../support/clock.js';
import { SCALE_NETWORK, SCALE_UNDERLAY_PREFIX, SUBNETS_PREFIX, loadLeases } from '../support/peer-leases.js';
import type { BulkEntry } from '../support/etcd-gateway.js';
import { findNodePid, readCpuTimes, readMemoryStatus } from '../support/proc-status.js';
import { kibToMiB, msToS, round } from '../support/stats.js';

const DEVICE = 'flannel-wg';

/** Lease i (1-based): subnet 10.<i>>8>.<i&255>.0/24, public IP 192.168.<100 + i>>8>.<i&255>, a made-up public key. */
export function wireguardPeerLease(i: number): BulkEntry {
  const key = Buffer.alloc(32, 0x5a);
  key.writeUInt32BE(i, 0);
  const value = {
    PublicIP: `192.168.${100 + (i >> 8)}.${i & 255}`,
    PublicIPv6: null,
    BackendType: 'wireguard',
    BackendData: { PublicKey: key.toString('base64'), Port: 51820 },
  };
  return { key: `${SUBNETS_PREFIX}10.${(i >> 8) & 255}.${i & 255}.0-24`, value: JSON.stringify(value) };
}

async function wgPeerCount(cluster: Cluster): Promise<number> {
  const res = await cluster.exec(1, ['wg', 'show', DEVICE, 'peers'], { allowFailure: true, timeoutMs: 10_000 });
  return res.exitCode === 0 ? res.stdout.split('\n').filter((l) => l !== '').length : -1;
}

async function wireguardGoPid(cluster: Cluster): Promise<number | undefined> {
  const { stdout } = await runIn(cluster.underlayNs, ['ip', 'netns', 'pids', cluster.hostNs(1)]);
  for (const p of stdout.split('\n').filter((l) => /^\d+$/.test(l))) {
    if ((await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')).trim() === 'wireguard-go') return Number(p);
  }
  return undefined;
}

async function measure(cluster: Cluster, peers: number, ctx: ScenarioContext): Promise<Metric[]> {
  const entries = Array.from({ length: peers }, (_, k) => wireguardPeerLease(k + 1));
  const loaded = await loadLeases(cluster, entries, ctx.signal);
  ctx.progress(`loaded ${peers} wireguard leases in ${loaded.txns} transactions (${loaded.loadMs} ms); starting the agent`);
  const spawnWall = nowMs();
  const agent = cluster.startAgent(1, { args: ['-v=1'], command: agentCommand() });
  let polls = 0;
  let notYetAt = spawnWall;
  await poll(
    async () => {
      if (!agent.running) throw new Error(`the agent exited with code ${agent.exitCode}:\n${await agent.readLog()}`);
      const before = nowMs();
      polls++;
      if ((await wgPeerCount(cluster)) >= peers) return true;
      notYetAt = before;
      return false;
    },
    { what: `${peers} peers on ${DEVICE}`, timeoutMs: 120_000, intervalMs: 50, signal: ctx.signal },
  );
  const seenAt = nowMs();
  const nodePid = await poll(() => findNodePid(agent.pid), { what: 'the agent node process', timeoutMs: 5000, intervalMs: 20 });
  const lines = await poll(
    async () => {
      const l = parseLog(await agent.readLog());
      return matchLines(l, RECONCILED).some((x) => Number(x.m[1]) >= peers) ? l : undefined;
    },
    { what: 'the agent to log its reconcile', timeoutMs: 10_000, intervalMs: 20 },
  );
  const rec = matchLines(lines, RECONCILED).find((x) => Number(x.m[1]) >= peers);
  const [mem, cpu] = await Promise.all([readMemoryStatus(nodePid), readCpuTimes(nodePid)]);
  const wgPid = await wireguardGoPid(cluster);
  const wgMem = wgPid ? await readMemoryStatus(wgPid) : undefined;
  if (!mem || !cpu || !rec) throw new Error('agent gone before it could be measured');
  const starting = findLine(lines, STARTING);
  const wrote = findLine(lines, WROTE_SUBNET_FILE);
  const rel = (t: number | undefined) => (t === undefined ? NaN : t - spawnWall);
  ctx.progress(`${peers} peers on ${DEVICE} by ${round(rel(seenAt), 1)} ms; agent: "${rec.line.message}"`);
  await agent.stop();
  return [
    {
      metric: `spawn → all ${peers} WireGuard peers configured`,
      value: msToS(rel(seenAt)),
      unit: 's',
      note: `seen from outside with \`wg show ${DEVICE} peers\` every 50 ms (${polls} polls, last incomplete at ${round(rel(notYetAt), 1)} ms); userspace wireguard-go, started by the agent`,
    },
    { metric: 'spawn → agent logged the reconcile done', value: msToS(rel(rec.line.time)), unit: 's', note: `agent log: "${rec.line.message}"` },
    {
      metric: 'spawn → subnet.env',
      value: round(rel(wrote?.time), 1),
      unit: 'ms',
      note: `node start-up (spawn → first log line) ${round(rel(starting?.time), 1)} ms; includes starting wireguard-go and waiting for its UAPI socket`,
    },
    { metric: 'agent peak RSS (VmHWM)', value: kibToMiB(mem.vmHwmKiB), unit: 'MiB', reference: 'target < 80 MB (as vxlan)', note: `now VmRSS ${kibToMiB(mem.vmRssKiB)} MiB` },
    { metric: 'agent CPU until configured: user', value: round(cpu.userMs, 0), unit: 'ms' },
    { metric: 'agent CPU until configured: system', value: round(cpu.systemMs, 0), unit: 'ms' },
    {
      metric: `wireguard-go peak RSS with ${peers} peers`,
      value: wgMem ? kibToMiB(wgMem.vmHwmKiB) : NaN,
      unit: 'MiB',
      note: 'not flannel-ts: the userspace WireGuard it runs',
    },
  ];
}

export function wireguardPeers(peers: number): Scenario {
  return {
    name: `wireguard-peers-${peers}`,
    description: `${peers} wireguard leases in etcd, one agent starts: spawn → all peers configured in wireguard-go, peak RSS`,
    timeoutMs: 240_000,
    needsRoot: true,
    run: async (ctx) => {
      const cluster = await createCluster({
        hosts: 1,
        signal: ctx.signal,
        underlayPrefixLength: SCALE_UNDERLAY_PREFIX,
        privateDirs: ['/run/wireguard', '/run/flannel'],
      });
      try {
        await cluster.putConfig({ Network: SCALE_NETWORK, Backend: { Type: 'wireguard' } });
        return await measure(cluster, peers, ctx);
      } finally {
        await cluster.destroy();
      }
    },
  };
}

export const wireguardPeers1000 = wireguardPeers(1000);
export const wireguardPeers5000 = wireguardPeers(5000);
