/** One real agent's figures at a checkpoint: RSS and CPU from /proc, reconcile counters from its /metrics. */
import { readFile } from 'node:fs/promises';
import { parsePromText, value } from '../../src/ctl/prom-text.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { readCpuTimes, readMemoryStatus } from '../support/proc-status.js';

/** The health port every soak agent serves /metrics on (each in its own namespace, on 127.0.0.1). */
export const METRICS_PORT = 9472;
export const METRICS_ARGS: readonly string[] = [`-healthz-port=${METRICS_PORT}`, '-healthz-ip=127.0.0.1'];

export interface AgentFigures {
  readonly rssMiB: number;
  readonly cpuS: number;
  /** flannel_reconcile_repairs_total; NaN when /metrics could not be read. */
  readonly repairs: number;
  /** flannel_reconcile_runs_total; NaN when /metrics could not be read. */
  readonly reconcileRuns: number;
}

export async function rssMiB(nodePid: number): Promise<number> {
  const m = await readMemoryStatus(nodePid);
  return m ? m.vmRssKiB / 1024 : NaN;
}

/** VmRSS and RssAnon of `pid` in MiB (NaN each when unreadable). */
export async function memoryMiB(nodePid: number): Promise<{ rssMiB: number; anonMiB: number }> {
  let text = '';
  try {
    text = await readFile(`/proc/${nodePid}/status`, 'utf8');
  } catch {
    // gone: NaN below
  }
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, anonMiB: kib('RssAnon') / 1024 };
}

export async function probeAgent(cluster: Cluster, host: number, nodePid: number, signal: AbortSignal): Promise<AgentFigures> {
  const cpu = await readCpuTimes(nodePid);
  const res = await cluster.exec(host, ['curl', '-sf', '--max-time', '3', `http://127.0.0.1:${METRICS_PORT}/metrics`], { allowFailure: true, timeoutMs: 5000, signal });
  const scrape = parsePromText(res.exitCode === 0 ? res.stdout : '');
  return {
    rssMiB: await rssMiB(nodePid),
    cpuS: cpu ? (cpu.userMs + cpu.systemMs) / 1000 : NaN,
    repairs: value(scrape, 'flannel_reconcile_repairs_total') ?? NaN,
    reconcileRuns: value(scrape, 'flannel_reconcile_runs_total') ?? NaN,
  };
}
