/**
 * `npm run soak [-- -minutes N]` (or SOAK_MINUTES; default 30): the bounded soak of
 * soak-run.ts. Progress on stderr, the report table on stdout, JSON under
 * bench/soak/results/<time>.json. Exit 0 when every settle ended with zero drift and every
 * agent's memory is flat by the two rules below; 1 otherwise (or when it could not run); 2 on
 * bad input. Ctrl-C stops it after teardown.
 *
 * What "no leak" is measured on (rss-slope.ts, gc-trace.ts). VmRSS is not: in 30 minutes of
 * churn it rose 72-74 -> 80 MiB (14.7-17.3 MiB/h, slowing), yet in a 12-minute run the V8 heap
 * used after each full GC stayed at 8.9-9.7 MiB, and two heap snapshots 8 minutes (~2,000 lease
 * events) apart differed by 0.52-0.57 MiB, of which 0.50-0.54 MiB was compiled code (V8
 * compiling the paths churn and etcd restarts reach); no structure grew with the lease events
 * (leases, peers, Maps, timers, listeners, own-deletes: within a few dozen objects, the live
 * lease count's swing). RSS is something else: between full GCs V8 lets the old generation fill
 * with garbage up to a few times the live size (a 20-minute run had no full GC from 6 to 17
 * minutes while RssAnon rose 24 -> 30 MiB, then the GC left 10 MiB live), and the executable's
 * pages come and go as code paths are first used and as the agent releases them (src/memory/).
 * So the agents run with --trace-gc (lines in their logs) and, after the first cycle:
 * - the leak check is the slope of the heap used after full GCs, under max(1 MiB/h, 1.5 MiB
 *   over the window): 1 MiB/h is ~70 bytes per lease event at the soak's ~15,000 events an
 *   hour; 1.5 MiB is the measured spread of the live heap plus the compiled code;
 * - memory outside the V8 heap (buffers, native, malloc) is checked on RssAnon (no file pages)
 *   less the heap's committed size after the latest collection (young ones come every second or
 *   so), under the former RSS rule max(10 MiB/h, 4 MiB over the window).
 * VmRSS is still sampled and reported, not judged.
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
import { withGcTraceFlags } from './gc-trace.js';
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
  // The agents trace their full GCs into their logs (the heap check); see gc-trace.ts.
  process.env.BENCH_AGENT_NODE_FLAGS = withGcTraceFlags(process.env.BENCH_AGENT_NODE_FLAGS);
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
