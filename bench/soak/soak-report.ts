/** The soak's verdict, table and JSON: drift after every settle, RSS slope per agent, CPU, repairs. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from '../support/stats.js';
import { rssThresholdMiBPerHour, slopeMiBPerHour } from './rss-slope.js';
import type { SoakOutcome } from './soak-run.js';

export interface AgentVerdict {
  readonly host: number;
  readonly rssFirstMiB: number;
  readonly rssLastMiB: number;
  /** Least-squares slope over the samples after the warm-up checkpoint, MiB/h. */
  readonly rssSlopeMiBPerHour: number;
  readonly rssThresholdMiBPerHour: number;
  readonly rssWindowS: number;
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
  const agents = o.agents.map((ag, k): AgentVerdict => {
    const samples = (o.rss[k] ?? []).filter((s) => s.t >= warm);
    const window = samples.length > 1 ? (samples[samples.length - 1]?.t ?? 0) - (samples[0]?.t ?? 0) : 0;
    const slope = slopeMiBPerHour(samples);
    const threshold = rssThresholdMiBPerHour(window);
    const fig = last?.agents[k];
    if (!Number.isFinite(slope)) failures.push(`host ${ag.host}: too few RSS samples after warm-up (${samples.length})`);
    else if (slope > threshold) failures.push(`host ${ag.host}: RSS slope ${slope.toFixed(1)} MiB/h over the threshold ${threshold.toFixed(1)} MiB/h`);
    return {
      host: ag.host,
      rssFirstMiB: round(samples[0]?.rssMiB ?? NaN, 1),
      rssLastMiB: round(samples[samples.length - 1]?.rssMiB ?? NaN, 1),
      rssSlopeMiBPerHour: round(slope, 2),
      rssThresholdMiBPerHour: round(threshold, 1),
      rssWindowS: round(window, 0),
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
    ['agent', 'subnet', 'RSS first→last MiB', 'RSS slope MiB/h', 'threshold MiB/h', 'window s', 'CPU s', 'reconciles', 'repairs'],
    v.agents.map((a, k) => [
      `h${a.host}`,
      o.agents[k]?.subnet ?? '',
      `${a.rssFirstMiB}→${a.rssLastMiB}`,
      String(a.rssSlopeMiBPerHour),
      String(a.rssThresholdMiBPerHour),
      String(a.rssWindowS),
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
