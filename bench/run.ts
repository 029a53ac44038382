/**
 * The benchmark entry point: `node dist/bench/run.js [scenario...]` (default: all, in registry
 * order). Prints a table to stdout, progress to stderr, and writes bench/results/<time>.json.
 * Figures are never judged: the exit code is 1 only when a scenario could not measure.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../test/cluster/harness.js';
import { formatTable, machineInfo, writeReport } from './report.js';
import { SCENARIOS, findScenario } from './registry.js';
import type { Scenario, ScenarioResult } from './scenario.js';
import { interruptSignal } from './support/interrupt.js';

/** Extra time past a scenario's bound for its teardown before the runner moves on. */
const TEARDOWN_GRACE_MS = 30_000;

function usage(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  const names = SCENARIOS.map((s) => `  ${s.name.padEnd(width)} ${s.description}`).join('\n');
  return `usage: node dist/bench/run.js [scenario...]\n\nscenarios (default: all):\n${names}\n`;
}

async function runScenario(s: Scenario, interrupt: AbortSignal): Promise<ScenarioResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const base = { scenario: s.name, description: s.description, startedAt };
  if (s.needsRoot && process.getuid?.() !== 0) return { ...base, durationMs: 0, metrics: [], skipped: 'needs root (network namespaces)' };
  const signal = AbortSignal.any([interrupt, AbortSignal.timeout(s.timeoutMs)]);
  const progress = (msg: string) => process.stderr.write(`[${s.name}] ${msg}\n`);
  progress(s.description);
  let timer: NodeJS.Timeout | undefined;
  const hardStop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${s.timeoutMs + TEARDOWN_GRACE_MS} ms`)), s.timeoutMs + TEARDOWN_GRACE_MS);
  });
  try {
    const metrics = await Promise.race([s.run({ signal, progress }), hardStop]);
    return { ...base, durationMs: Math.round(performance.now() - t0), metrics };
  } catch (err) {
    const why = interrupt.aborted ? 'interrupted: ' : signal.aborted ? `exceeded its bound of ${s.timeoutMs} ms: ` : '';
    const error = `${why}${err instanceof Error ? err.message : String(err)}`;
    progress(`FAILED: ${error}`);
    return { ...base, durationMs: Math.round(performance.now() - t0), metrics: [], error };
  } finally {
    clearTimeout(timer);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(usage());
    return 0;
  }
  const chosen: Scenario[] = [];
  for (const name of argv.length > 0 ? argv : SCENARIOS.map((s) => s.name)) {
    const s = findScenario(name);
    if (!s) {
      process.stderr.write(`unknown scenario ${JSON.stringify(name)}\n${usage()}`);
      return 2;
    }
    chosen.push(s);
  }
  const interrupt = interruptSignal();

  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  process.stderr.write(`node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAvg.join(' ')} (other work skews the figures)\n`);
  const results: ScenarioResult[] = [];
  for (const s of chosen) {
    if (interrupt.aborted) break;
    results.push(await runScenario(s, interrupt));
  }
  process.stdout.write('\n' + formatTable(results));
  const path = await writeReport(join(REPO_ROOT, 'bench', 'results'), { startedAt, machine, results });
  process.stdout.write(`\nresults written to ${path}\n`);
  return results.some((r) => r.error !== undefined) || interrupt.aborted ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
