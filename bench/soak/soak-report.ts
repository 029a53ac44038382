/**
 * The soak's verdict, table and JSON: drift after every settle; per agent the slope of the V8
 * heap used after full GCs (the leak check) and of anonymous RSS less the V8 heap's committed
 * size (the check on memory outside the V8 heap), VmRSS and RssAnon for the record, CPU, repairs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from '../support/stats.js';
import { heapThresholdMiBPerHour, rssThresholdMiBPerHour, slopeMiBPerHour, slopePerHour } from './rss-slope.js';
import type { SoakOutcome } from './soak-run.js';

export interface AgentVerdict {
  readonly host: number;
  /** VmRSS after the warm-up checkpoint and at the end, and its slope (for the record, not judged). */
  readonly rssFirstMiB: number;
  readonly rssLastMiB: number;
  readonly rssSlopeMiBPerHour: number;
  /** V8 heap used after the full GCs after warm-up: first, last, count, slope (judged) and threshold. */
  readonly heapFirstMiB: number;
  readonly heapLastMiB: number;
  readonly fullGcs: number;
  readonly heapSlopeMiBPerHour: number;
  readonly heapThresholdMiBPerHour: number;
  readonly heapWindowS: number;
  /** RssAnon after warm-up: first, last, slope (not judged: it follows the heap's sawtooth). */
  readonly anonFirstMiB: number;
  readonly anonLastMiB: number;
  readonly anonSlopeMiBPerHour: number;
  /** RssAnon less the heap's committed size after warm-up: first, last, slope (judged), threshold. */
  readonly outsideFirstMiB: number;
  readonly outsideLastMiB: number;
  readonly outsideSamples: number;
  readonly outsideSlopeMiBPerHour: number;
  readonly outsideThresholdMiBPerHour: number;
  readonly outsideWindowS: number;
  readonly cpuS: number;
  readonly repairs: number;
  readonly reconcileRuns: number;
}

export interface SoakVerdict {
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly agents: readonly AgentVerdict[];
}

export function judge(o: SoakOutcome): SoakVerdict {
  const failures: string[] = [];
  for (const cp of o.checkpoints) {
    for (const a of cp.agents) {
      const d = a.drift.missing + a.drift.extra;
      if (!cp.settled || d !== 0) failures.push(`checkpoint ${cp.cycle}: host ${a.host} drift ${a.drift.missing} missing + ${a.drift.extra} extra after ${cp.settleS.toFixed(1)} s (${a.drift.sample.slice(0, 2).join('; ')})`);
    }
  }
  // The fit starts after the first churn cycle (checkpoint 1), not at start-up: the first
  // minute's RSS climbs with V8 compiling and sizing its heap for the churn code paths.
  const warm = (o.checkpoints.length > 2 ? o.checkpoints[1] : o.checkpoints[0])?.atS ?? 0;
  const last = o.checkpoints[o.checkpoints.length - 1];
  const span = (xs: ReadonlyArray<{ t: number }>) => (xs.length > 1 ? (xs[xs.length - 1]?.t ?? 0) - (xs[0]?.t ?? 0) : 0);
  const agents = o.agents.map((ag, k): AgentVerdict => {
    const samples = (o.rss[k] ?? []).filter((s) => s.t >= warm);
    const anon = samples.filter((s) => Number.isFinite(s.anonMiB));
    const outside = samples.filter((s) => Number.isFinite(s.outsideHeapMiB));
    const gcs = (o.heap[k] ?? []).filter((g) => g.t >= warm);
    const heapSlope = slopePerHour(gcs, (g) => g.usedAfterMiB);
    const heapThreshold = heapThresholdMiBPerHour(span(gcs));
    const outsideSlope = slopePerHour(outside, (s) => s.outsideHeapMiB ?? NaN);
    const outsideThreshold = rssThresholdMiBPerHour(span(outside));
    const fig = last?.agents[k];
    if (gcs.length < 3 || !Number.isFinite(heapSlope)) failures.push(`host ${ag.host}: ${gcs.length} full GCs traced after warm-up, too few to judge the heap (agents need --trace-gc: not BENCH_AGENT_EXECUTABLE)`);
    else if (heapSlope > heapThreshold) failures.push(`host ${ag.host}: heap after full GC grows ${heapSlope.toFixed(2)} MiB/h, over the threshold ${heapThreshold.toFixed(2)} MiB/h (a leak)`);
    if (outside.length < 3 || !Number.isFinite(outsideSlope)) failures.push(`host ${ag.host}: ${outside.length} RSS samples with the heap's committed size after warm-up, too few to judge memory outside the heap`);
    else if (outsideSlope > outsideThreshold) failures.push(`host ${ag.host}: memory outside the V8 heap (RssAnon - heap committed) grows ${outsideSlope.toFixed(1)} MiB/h, over the threshold ${outsideThreshold.toFixed(1)} MiB/h`);
    return {
      host: ag.host,
      rssFirstMiB: round(samples[0]?.rssMiB ?? NaN, 1),
      rssLastMiB: round(samples[samples.length - 1]?.rssMiB ?? NaN, 1),
      rssSlopeMiBPerHour: round(slopeMiBPerHour(samples), 2),
      heapFirstMiB: gcs[0]?.usedAfterMiB ?? NaN,
      heapLastMiB: gcs[gcs.length - 1]?.usedAfterMiB ?? NaN,
      fullGcs: gcs.length,
      heapSlopeMiBPerHour: round(heapSlope, 2),
      heapThresholdMiBPerHour: round(heapThreshold, 2),
      heapWindowS: round(span(gcs), 0),
      anonFirstMiB: round(anon[0]?.anonMiB ?? NaN, 1),
      anonLastMiB: round(anon[anon.length - 1]?.anonMiB ?? NaN, 1),
      anonSlopeMiBPerHour: round(slopePerHour(anon, (s) => s.anonMiB ?? NaN), 2),
      outsideFirstMiB: round(outside[0]?.outsideHeapMiB ?? NaN, 1),
      outsideLastMiB: round(outside[outside.length - 1]?.outsideHeapMiB ?? NaN, 1),
      outsideSamples: outside.length,
      outsideSlopeMiBPerHour: round(outsideSlope, 2),
      outsideThresholdMiBPerHour: round(outsideThreshold, 1),
      outsideWindowS: round(span(outside), 0),
      cpuS: round(fig?.cpuS ?? NaN, 2),
      repairs: fig?.repairs ?? NaN,
      reconcileRuns: fig?.reconcileRuns ?? NaN,
    };
  });
  if (o.checkpoints.length < o.plan.cycles + 1) failures.push(`only ${o.checkpoints.length - 1} of ${o.plan.cycles} checkpoints ran`);
  return { ok: failures.length === 0, failures, agents };
}

const pad = (cells: readonly string[], widths: readonly number[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();

function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => pad(r, widths))].join('\n') + '\n';
}

export function formatSoak(o: SoakOutcome, v: SoakVerdict): string {
  const hosts = o.agents.map((a) => a.host);
  const cps = table(
    ['checkpoint', 't (s)', 'settle (s)', 'leases', ...hosts.map((h) => `h${h} drift m+e`), ...hosts.map((h) => `h${h} RSS MiB`), ...hosts.map((h) => `h${h} repairs`)],
    o.checkpoints.map((c) => [
      c.cycle === 0 ? '0 (warm-up)' : String(c.cycle),
      c.atS.toFixed(0),
      c.settleS.toFixed(1) + (c.settled ? '' : ' (budget)'),
      String(c.storeLeases),
      ...c.agents.map((a) => `${a.drift.missing}+${a.drift.extra}`),
      ...c.agents.map((a) => a.rssMiB.toFixed(1)),
      ...c.agents.map((a) => String(a.repairs)),
    ]),
  );
  const ags = table(
    ['agent', 'subnet', 'RSS first→last MiB', 'RSS slope MiB/h', 'heap after GC MiB', 'GCs', 'heap slope/threshold MiB/h', 'RssAnon MiB', 'anon slope MiB/h', 'outside heap MiB', 'outside slope/threshold MiB/h', 'CPU s', 'reconciles', 'repairs'],
    v.agents.map((a, k) => [
      `h${a.host}`,
      o.agents[k]?.subnet ?? '',
      `${a.rssFirstMiB}→${a.rssLastMiB}`,
      String(a.rssSlopeMiBPerHour),
      `${a.heapFirstMiB}→${a.heapLastMiB}`,
      String(a.fullGcs),
      `${a.heapSlopeMiBPerHour} / ${a.heapThresholdMiBPerHour}`,
      `${a.anonFirstMiB}→${a.anonLastMiB}`,
      String(a.anonSlopeMiBPerHour),
      `${a.outsideFirstMiB}→${a.outsideLastMiB}`,
      `${a.outsideSlopeMiBPerHour} / ${a.outsideThresholdMiBPerHour}`,
      String(a.cpuS),
      String(a.reconcileRuns),
      String(a.repairs),
    ]),
  );
  const c = o.churn;
  const hd = o.handDeletes;
  const totals =
    `churn: ${c.join} join, ${c.leave} leave, ${c.mac} VtepMAC, ${c.ip} public IP, ${c.expire} short-TTL (expire); ${o.churnFailures} store calls failed\n` +
    `hand deletes: ${hd.routes ?? 0} routes, ${hd.neigh ?? 0} neigh, ${hd.fdb ?? 0} fdb (${o.handDeleteMisses} misses); etcd restarts: ${o.etcdRestarts}\n`;
  const verdict = v.ok ? 'PASS\n' : `FAIL\n${v.failures.map((f) => `  ${f}`).join('\n')}\n`;
  return `${cps}\n${ags}\n${totals}${verdict}`;
}

export async function writeSoakReport(dir: string, report: unknown, startedAt: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
