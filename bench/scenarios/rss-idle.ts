/**
 * rss-idle: three agents hold their leases; after 5 s idle, each agent's VmRSS and VmHWM: with
 * the alloc backend (no data path: the agent itself), then with vxlan (devices, netlink, a
 * meshed data path: etcd mode as deployed), whose agents are read again after 60 s idle (the
 * steady state: pages released after start-up that are used again have come back by then), with
 * the split into anonymous and file-backed memory. Each host runs its own copy of the executable
 * (agent-command.ts). For comparison, a bare `node -e "setTimeout(()=>{},1e4)"`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { startTimed, withCluster } from '../support/bench-cluster.js';
import { readMemoryBreakdown, readMemoryStatus, type MemoryStatus } from '../support/proc-status.js';
import { kibToMiB, summarize } from '../support/stats.js';

const IDLE_MS = 5000;
const STEADY_MS = 60_000;
const BARE_SETTLE_MS = 2000;
type IdleBackend = 'alloc' | 'vxlan';
const config = (type: IdleBackend) => ({ Network: '10.244.0.0/16', Backend: { Type: type } });

export const rssIdle: Scenario = {
  name: 'rss-idle',
  description: `3 hosts (alloc, then vxlan): agent RSS after ${IDLE_MS / 1000} s idle, and a bare node process`,
  timeoutMs: 240_000,
  needsRoot: true,
  run: async (ctx) => [...(await agentsIdle(ctx, 'alloc')), ...(await agentsIdle(ctx, 'vxlan')), ...(await bareNode(ctx))],
};

async function agentsIdle(ctx: ScenarioContext, backend: IdleBackend): Promise<Metric[]> {
  // alloc keeps the metric names it always had; vxlan says so in its own.
  const tag = backend === 'alloc' ? '' : `, ${backend}`;
  return withCluster({ hosts: 3, config: config(backend), signal: ctx.signal }, async (cluster) => {
    const starts = await Promise.all([1, 2, 3].map((h) => startTimed(cluster, h, { signal: ctx.signal, timeoutMs: 20_000 })));
    ctx.progress(`3 ${backend} agents up; idling ${IDLE_MS / 1000} s`);
    await delay(IDLE_MS, undefined, { signal: ctx.signal });
    const mems: MemoryStatus[] = [];
    for (const s of starts) {
      const m = await readMemoryStatus(s.nodePid);
      if (!m || !s.agent.running) throw new Error(`agent on host ${s.agent.host} (node pid ${s.nodePid}) is gone after idling`);
      mems.push(m);
    }
    const rss = summarize(mems.map((m) => m.vmRssKiB));
    const hwm = summarize(mems.map((m) => m.vmHwmKiB));
    const each = (xs: number[]) => xs.map(kibToMiB).join(', ');
    const metrics = [
      { metric: `agent VmRSS after idle${tag} (p50 of 3)`, value: kibToMiB(rss.p50), unit: 'MiB', reference: backend === 'vxlan' ? 'target 48 MiB' : '', note: `each: ${each(mems.map((m) => m.vmRssKiB))}` },
      { metric: `agent VmHWM after idle${tag} (max of 3)`, value: kibToMiB(hwm.max), unit: 'MiB', reference: 'Go flannel 45 MB at 5,000 peers', note: `each: ${each(mems.map((m) => m.vmHwmKiB))}` },
    ];
    if (backend !== 'vxlan') return metrics;
    ctx.progress(`idling until ${STEADY_MS / 1000} s`);
    await delay(STEADY_MS - IDLE_MS, undefined, { signal: ctx.signal });
    const steady: MemoryStatus[] = [];
    const split: string[] = [];
    for (const s of starts) {
      const m = await readMemoryStatus(s.nodePid);
      const b = await readMemoryBreakdown(s.nodePid);
      if (!m || !b || !s.agent.running) throw new Error(`agent on host ${s.agent.host} (node pid ${s.nodePid}) is gone after idling`);
      steady.push(m);
      split.push(`${kibToMiB(b.rssAnonKiB)} + ${kibToMiB(b.rssFileKiB)}`);
    }
    const rss60 = summarize(steady.map((m) => m.vmRssKiB));
    metrics.push({
      metric: `agent VmRSS after ${STEADY_MS / 1000} s idle${tag} (p50 of 3)`,
      value: kibToMiB(rss60.p50),
      unit: 'MiB',
      reference: 'target 48 MiB',
      note: `each: ${each(steady.map((m) => m.vmRssKiB))}; anonymous + file-backed: ${split.join('; ')}`,
    });
    return metrics;
  });
}

async function bareNode(ctx: ScenarioContext): Promise<Metric[]> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(()=>{},1e4)'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    if (child.pid === undefined) throw new Error(`could not spawn ${process.execPath}`);
    await delay(BARE_SETTLE_MS, undefined, { signal: ctx.signal });
    const m = await readMemoryStatus(child.pid);
    if (!m) throw new Error(`bare node (pid ${child.pid}) exited early`);
    return [
      { metric: 'bare node VmRSS', value: kibToMiB(m.vmRssKiB), unit: 'MiB', reference: 'issue: Node baseline ~41 MB', note: `node ${process.version}, after ${BARE_SETTLE_MS / 1000} s` },
      { metric: 'bare node VmHWM', value: kibToMiB(m.vmHwmKiB), unit: 'MiB' },
    ];
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}
