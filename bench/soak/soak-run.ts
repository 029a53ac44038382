/**
 * The soak itself: 3 real flanneld agents (vxlan, etcd mode, one namespace each) and 200
 * simulated hosts whose leases churn in etcd; etcd restarted twice; kernel entries deleted by
 * hand; at every checkpoint churn pauses and each agent's flannel.1 state is compared with the
 * store until it matches or the settle budget runs out.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { HarnessError } from '../../test/support/errors.js';
import { startTimed, type TimedStart } from '../support/bench-cluster.js';
import { METRICS_ARGS, memoryMiB, probeAgent, type AgentFigures } from './agent-probe.js';
import { committedAt, parseGcs, type FullGc } from './gc-trace.js';
import { HandDeletes } from './hand-deletes.js';
import { compare, kernelLines, readStoreLeases, wantedLines, type Drift } from './kernel-drift.js';
import { LeaseChurn, type ChurnOp } from './lease-churn.js';
import type { RssSample } from './rss-slope.js';

export const AGENTS = 3;
export const SIMULATED_HOSTS = 200;
/** Agents take subnets from 10.1.0.0 up; simulated hosts own 10.0.1.0/24 .. 10.0.200.0/24. */
export const SOAK_CONFIG = { Network: '10.0.0.0/8', SubnetMin: '10.1.0.0', Backend: { Type: 'vxlan' } };
const CHURN_STEP_MS = 200;
const HAND_DELETE_EVERY_MS = 2000;
const RSS_SAMPLE_MS = 10_000;
const SETTLE_POLL_MS = 1000;
const WARMUP_SETTLE_MS = 90_000;
/** An RSS sample is set against the heap's committed size after a collection at most this long before it. */
const OUTSIDE_HEAP_MAX_GC_AGE_S = 15;

export interface SoakPlan {
  readonly totalMs: number;
  readonly intervalMs: number;
  readonly cycles: number;
  /** Longest a settle may take before the drift left counts. */
  readonly settleBudgetMs: number;
  /** Cycles whose churn phase restarts etcd. */
  readonly restartCycles: readonly number[];
}

/** Every 60 s, or every run/5 for runs under 5 minutes; settle budget 60 % of that, at most 45 s. */
export function planSoak(minutes: number): SoakPlan {
  const totalMs = Math.round(minutes * 60_000);
  const intervalMs = Math.min(60_000, Math.floor(totalMs / 5));
  const cycles = Math.max(1, Math.floor(totalMs / intervalMs));
  const settleBudgetMs = Math.min(45_000, Math.floor(intervalMs * 0.6));
  const restartCycles = [Math.floor(cycles / 3) + 1, Math.floor((2 * cycles) / 3) + 1];
  return { totalMs, intervalMs, cycles, settleBudgetMs, restartCycles };
}

export interface AgentCheckpoint extends AgentFigures {
  readonly host: number;
  readonly drift: Drift;
}

export interface Checkpoint {
  /** 0 = the warm-up settle after the initial 200 leases. */
  readonly cycle: number;
  readonly atS: number;
  readonly settleS: number;
  readonly settled: boolean;
  readonly storeLeases: number;
  readonly agents: readonly AgentCheckpoint[];
}

export interface SoakOutcome {
  readonly plan: SoakPlan;
  readonly seed: number;
  readonly agents: ReadonlyArray<{ host: number; subnet: string; nodePid: number }>;
  readonly checkpoints: readonly Checkpoint[];
  /** Per agent (same order as `agents`). */
  readonly rss: ReadonlyArray<readonly RssSample[]>;
  /** Per agent: its full GCs from its --trace-gc log, `t` in seconds since the soak started (empty without the trace). */
  readonly heap: ReadonlyArray<ReadonlyArray<FullGc & { readonly t: number }>>;
  readonly churn: Record<ChurnOp, number>;
  readonly churnFailures: number;
  readonly handDeletes: Record<string, number>;
  readonly handDeleteMisses: number;
  readonly etcdRestarts: number;
}

/** mulberry32: a small seeded generator, so a run can be repeated with SOAK_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ownNet(start: TimedStart): string {
  const subnet = start.subnetEnv.FLANNEL_SUBNET ?? '';
  const m = /^(\d+\.\d+\.\d+)\.\d+\/24$/.exec(subnet);
  if (!m) throw new HarnessError(`host ${start.agent.host}: FLANNEL_SUBNET=${JSON.stringify(subnet)}: want a /24`);
  return `${m[1]}.0`;
}

export async function runSoak(cluster: Cluster, plan: SoakPlan, seed: number, signal: AbortSignal, progress: (msg: string) => void): Promise<SoakOutcome> {
  const random = seededRandom(seed);
  const hosts = Array.from({ length: AGENTS }, (_, k) => k + 1);
  const starts = await Promise.all(hosts.map((h) => startTimed(cluster, h, { signal, timeoutMs: 60_000, args: [...METRICS_ARGS] })));
  const nets = starts.map(ownNet);
  progress(`agents up: ${starts.map((s, k) => `h${s.agent.host} ${nets[k]}/24 pid ${s.nodePid}`).join(', ')}`);
  const churn = new LeaseChurn(cluster, SIMULATED_HOSTS, random);
  const store = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  const deletes = new HandDeletes(cluster, hosts, random);
  const rss: RssSample[][] = hosts.map(() => []);
  const checkpoints: Checkpoint[] = [];
  const t0 = Date.now();
  const since = () => (Date.now() - t0) / 1000;
  let etcdRestarts = 0;
  const sampleRss = async () => {
    for (const [k, s] of starts.entries()) {
      const m = await memoryMiB(s.nodePid);
      if (Number.isFinite(m.rssMiB)) rss[k]?.push({ t: since(), ...m });
    }
  };
  const rssTimer = setInterval(() => void sampleRss(), RSS_SAMPLE_MS);
  const failIfExited = () => {
    for (const s of starts) if (!s.agent.running) throw new HarnessError(`the agent on host ${s.agent.host} exited with code ${s.agent.exitCode}`);
  };

  /** Polls (bounded by budgetMs) until every agent's drift is 0; records the checkpoint either way. */
  const settle = async (cycle: number, budgetMs: number) => {
    const started = Date.now();
    let drifts: Drift[] = [];
    let leases = 0;
    let settled = false;
    // Bounded: one pass per SETTLE_POLL_MS at least, until the budget ends.
    while (!settled && Date.now() - started < budgetMs) {
      failIfExited();
      if (churn.expiriesPending()) {
        await delay(SETTLE_POLL_MS, undefined, { signal });
        continue;
      }
      const storeLeases = await readStoreLeases(store, signal);
      leases = storeLeases.length;
      drifts = [];
      for (const [k, h] of hosts.entries()) drifts.push(compare(wantedLines(storeLeases, nets[k] ?? ''), await kernelLines(cluster, h)));
      settled = drifts.every((d) => d.missing + d.extra === 0);
      if (!settled) await delay(SETTLE_POLL_MS, undefined, { signal });
    }
    const settleS = (Date.now() - started) / 1000;
    await sampleRss();
    const agents: AgentCheckpoint[] = [];
    for (const [k, s] of starts.entries()) {
      const figures = await probeAgent(cluster, s.agent.host, s.nodePid, signal);
      const drift = drifts[k] ?? { missing: NaN, extra: NaN, byKind: { routes: { missing: NaN, extra: NaN }, neigh: { missing: NaN, extra: NaN }, fdb: { missing: NaN, extra: NaN } }, sample: ['never compared'] };
      agents.push({ host: s.agent.host, drift, ...figures });
    }
    const cp: Checkpoint = { cycle, atS: since(), settleS, settled, storeLeases: leases, agents };
    checkpoints.push(cp);
    const driftText = agents.map((a) => `h${a.host} ${a.drift.missing}+${a.drift.extra}`).join(', ');
    progress(`checkpoint ${cycle}/${plan.cycles} at ${cp.atS.toFixed(0)} s: ${leases} leases, settle ${settleS.toFixed(1)} s, drift (missing+extra) ${driftText}${settled ? '' : ' NOT SETTLED: ' + agents.flatMap((a) => a.drift.sample).slice(0, 4).join('; ')}`);
  };

  try {
    await churn.start(signal);
    await settle(0, WARMUP_SETTLE_MS);
    const runStart = Date.now();
    for (let cycle = 1; cycle <= plan.cycles; cycle++) {
      const churnEnd = runStart + cycle * plan.intervalMs - plan.settleBudgetMs;
      const phaseStart = Date.now();
      let restart: Promise<void> | undefined;
      let restartError: unknown;
      let nextDelete = Date.now() + HAND_DELETE_EVERY_MS;
      // Bounded by churnEnd: one step per CHURN_STEP_MS at least.
      while (Date.now() < churnEnd) {
        signal.throwIfAborted();
        failIfExited();
        if (restart === undefined && plan.restartCycles.includes(cycle) && Date.now() > phaseStart + 3000) {
          progress(`cycle ${cycle}: restarting etcd (churn goes on; failed store calls are counted)`);
          restart = cluster.etcd.restart({ signal }).then(
            () => {
              etcdRestarts++;
              progress(`cycle ${cycle}: etcd back`);
            },
            (err: unknown) => void (restartError = err),
          );
        }
        await churn.step(signal);
        if (Date.now() >= nextDelete) {
          await deletes.once(signal);
          nextDelete = Date.now() + HAND_DELETE_EVERY_MS;
        }
        await delay(CHURN_STEP_MS, undefined, { signal });
      }
      if (restart) await restart;
      if (restartError !== undefined) throw new HarnessError(`etcd restart in cycle ${cycle} failed`, { cause: restartError });
      await settle(cycle, plan.settleBudgetMs);
    }
  } finally {
    clearInterval(rssTimer);
    churn.close();
    store.close();
  }
  // The trace's times count from the isolate's start, a few ms after spawn.
  const gcs = await Promise.all(starts.map(async (s) => parseGcs(await s.agent.readLog({ all: true })).map((g) => ({ ...g, t: (s.spawnWall + g.ms - t0) / 1000 }))));
  const heap = gcs.map((list) => list.filter((g) => g.full).map(({ t, ms, usedAfterMiB, committedAfterMiB }) => ({ t, ms, usedAfterMiB, committedAfterMiB })));
  const withOutside = rss.map((samples, k) =>
    samples.map((s) => ({ ...s, outsideHeapMiB: (s.anonMiB ?? NaN) - committedAt(gcs[k] ?? [], s.t, OUTSIDE_HEAP_MAX_GC_AGE_S) })),
  );
  return {
    plan,
    seed,
    agents: starts.map((s, k) => ({ host: s.agent.host, subnet: `${nets[k]}/24`, nodePid: s.nodePid })),
    checkpoints,
    rss: withOutside,
    heap,
    churn: { ...churn.counts },
    churnFailures: churn.failures,
    handDeletes: { ...deletes.counts },
    handDeleteMisses: deletes.misses,
    etcdRestarts,
  };
}
