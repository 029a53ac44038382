/**
 * `npm run soak [-- -minutes N]` (or SOAK_MINUTES; default 30): the bounded soak of
 * soak-run.ts. Progress on stderr, the report table on stdout, JSON under
 * bench/soak/results/<time>.json. Exit 0 when every settle ended with zero drift and every
 * agent's RSS slope is under its threshold; 1 otherwise (or when it could not run); 2 on bad
 * input. Ctrl-C stops it after teardown.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { REPO_ROOT } from '../../test/cluster/harness.js';
import { withCluster } from '../support/bench-cluster.js';
import { machineInfo } from '../report.js';
import { parseSoakOptions, type SoakOptions } from './soak-options.js';
import { formatSoak, judge, writeSoakReport } from './soak-report.js';
import { SOAK_CONFIG, planSoak, runSoak } from './soak-run.js';
import { interruptSignal } from '../support/interrupt.js';

/** Set-up (namespaces, etcd, agents, 200 leases), the warm-up settle and teardown, on top of the run. */
const OVERHEAD_MS = 5 * 60_000;

async function main(argv: readonly string[]): Promise<number> {
  let opts: SoakOptions;
  try {
    opts = parseSoakOptions(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`soak: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('soak: needs root (network namespaces)\n');
    return 1;
  }
  const seedText = process.env.SOAK_SEED;
  const seed = seedText !== undefined && /^\d+$/.test(seedText) ? Number(seedText) : randomInt(2 ** 31);
  const plan = planSoak(opts.minutes);
  const interrupt = interruptSignal();
  const signal = AbortSignal.any([interrupt, AbortSignal.timeout(plan.totalMs + OVERHEAD_MS)]);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const progress = (msg: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  progress(
    `${opts.minutes} min: ${plan.cycles} checkpoints every ${plan.intervalMs / 1000} s (settle budget ${plan.settleBudgetMs / 1000} s), etcd restarts in cycles ${plan.restartCycles.join(' and ')}, seed ${seed}; ` +
      `node ${machine.node}, load average ${machine.loadAvg.join(' ')}`,
  );
  const resultsDir = join(REPO_ROOT, 'bench', 'soak', 'results');
  try {
    const outcome = await withCluster({ hosts: 3, config: SOAK_CONFIG, signal }, (cluster) => runSoak(cluster, plan, seed, signal, progress));
    const verdict = judge(outcome);
    process.stdout.write('\n' + formatSoak(outcome, verdict));
    const path = await writeSoakReport(resultsDir, { startedAt, finishedAt: new Date().toISOString(), machine, minutes: opts.minutes, verdict, outcome }, startedAt);
    process.stdout.write(`results written to ${path}\n`);
    return verdict.ok ? 0 : 1;
  } catch (err) {
    const why = interrupt.aborted ? 'interrupted: ' : signal.aborted ? 'exceeded its time bound: ' : '';
    const error = `${why}${err instanceof Error ? err.message : String(err)}`;
    progress(`FAILED: ${error}`);
    await writeSoakReport(resultsDir, { startedAt, machine, minutes: opts.minutes, error }, startedAt).catch(() => {});
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
