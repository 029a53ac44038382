/**
 * cni-latency: bin/flannel ADD and DEL with Debian's real bridge and host-local, one pod at a
 * time into fresh pod namespaces behind one host namespace (as test/cni does). Each run's own
 * log line splits its time (since process start) into Node's start-up, flannel's own work and
 * the delegate; the wall time seen by the caller includes `ip netns exec`, given separately.
 *
 * The plugin runs with a container runtime's environment, which has no NODE_EXTRA_CA_CERTS or
 * NODE_OPTIONS: Node 20 reads and parses the whole NODE_EXTRA_CA_CERTS file before it runs any
 * script (~30 ms for a distribution's CA bundle). When this shell has either set, a second
 * round with the inherited environment shows what they cost.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { round, summarize } from '../support/stats.js';
import { CniRun, REPO_ROOT, SUBNET_ENV_V4, type Scenario as CniScenario } from '../../test/cni/cni-fixture.js';

const PODS = 20;
const TIMING = /([\d.]+) ms since process start: node start-up ([\d.]+), flannel ([\d.]+), delegate \S+ ([\d.]+)/;
/** Variables a runtime's environment lacks that change how fast Node starts. */
const NODE_VARS = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'] as const;
/** Empty is unset for Node (the fixture merges over this process's environment). */
const RUNTIME_ENV: Record<string, string> = Object.fromEntries(NODE_VARS.map((v) => [v, '']));

interface Sample {
  wallMs: number;
  totalMs: number;
  nodeMs: number;
  flannelMs: number;
  delegateMs: number;
}

export const cniLatency: Scenario = {
  name: 'cni-latency',
  description: `bin/flannel ADD and DEL of ${PODS} pods with the real bridge and host-local`,
  timeoutMs: 120_000,
  needsRoot: true,
  run: async (ctx) => {
    const code = loadedCode();
    ctx.progress(`bin/flannel loads ${code}`);
    const inherited = NODE_VARS.filter((v) => (process.env[v] ?? '') !== '');
    const run = await CniRun.create();
    try {
      const s = await run.scenario(PODS);
      await s.writeSubnetEnv(SUBNET_ENV_V4);
      ctx.progress(`ADD then DEL of ${PODS} pods`);
      const { add, del } = await addThenDel(ctx, s, 'bench', RUNTIME_ENV);
      const baseline: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await s.exec(s.host, ['true']);
        baseline.push(performance.now() - t0);
      }
      const metrics = [
        ...figures('ADD', add, code),
        ...figures('DEL', del, code),
        { metric: '`ip netns exec <host> true` (p50)', value: round(summarize(baseline).p50, 1), unit: 'ms', note: 'part of the wall times above, not of the plugin' },
      ];
      if (inherited.length > 0) {
        ctx.progress(`again with this shell's ${inherited.join(', ')}`);
        const again = await addThenDel(ctx, s, 'inh', {});
        const what = `with this shell's ${inherited.join(', ')}`;
        for (const [verb, xs] of [['ADD', again.add], ['DEL', again.del]] as const) {
          metrics.push(row(verb, `plugin's own share ${what}`, xs, (x) => x.totalMs - x.delegateMs, 'a runtime does not pass these'));
          metrics.push(row(verb, `  of which Node start-up ${what}`, xs, (x) => x.nodeMs));
        }
      }
      return metrics;
    } finally {
      await run.destroy();
    }
  },
};

/** Which code bin/flannel loads: the bundle, unless it is missing or older than tsc's output. */
function loadedCode(): string {
  const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const bundle = mtime(join(REPO_ROOT, 'dist', 'bundle', 'flannel-cni.js'));
  return bundle >= 0 && bundle >= mtime(join(REPO_ROOT, 'dist', 'src', 'cni', 'cni-main.js'))
    ? 'the bundle (dist/bundle/flannel-cni.js)'
    : 'the tsc modules (no fresh bundle: run npm run build)';
}

/** ADD of every pod, then DEL of every pod. */
async function addThenDel(ctx: ScenarioContext, s: CniScenario, prefix: string, env: Record<string, string>): Promise<{ add: Sample[]; del: Sample[] }> {
  const add: Sample[] = [];
  const del: Sample[] = [];
  for (let i = 0; i < PODS; i++) add.push(await timed(ctx, s, 'ADD', `${prefix}${i}`, i, env));
  for (let i = 0; i < PODS; i++) del.push(await timed(ctx, s, 'DEL', `${prefix}${i}`, i, env));
  return { add, del };
}

async function timed(ctx: ScenarioContext, s: CniScenario, verb: 'ADD' | 'DEL', containerId: string, i: number, env: Record<string, string>): Promise<Sample> {
  ctx.signal.throwIfAborted();
  const t0 = performance.now();
  const r = await s.invoke(verb, s.conf(), { containerId, pod: s.pod(i), env });
  const wallMs = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${verb} ${containerId}: exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
  const m = TIMING.exec(r.stderr);
  if (!m) throw new Error(`${verb} ${containerId}: no timing line in stderr: ${r.stderr}`);
  const [totalMs, nodeMs, flannelMs, delegateMs] = m.slice(1).map(Number) as [number, number, number, number];
  return { wallMs, totalMs, nodeMs, flannelMs, delegateMs };
}

function row(verb: string, what: string, xs: readonly Sample[], f: (x: Sample) => number, note?: string): Metric {
  const s = summarize(xs.map(f));
  return { metric: `${verb} ${what} (p50 of ${s.n})`, value: round(s.p50, 1), unit: 'ms', note: `min ${round(s.min, 1)}, max ${round(s.max, 1)}${note ? `; ${note}` : ''}` };
}

function figures(verb: string, xs: readonly Sample[], code: string): Metric[] {
  return [
    row(verb, 'wall, as the caller sees it', xs, (x) => x.wallMs, 'includes ip netns exec'),
    row(verb, 'plugin process start to answer', xs, (x) => x.totalMs),
    row(verb, 'delegate (bridge + host-local)', xs, (x) => x.delegateMs),
    row(verb, "plugin's own share", xs, (x) => x.totalMs - x.delegateMs, `target < 50 ms: Node start-up + flannel; code: ${code}`),
    row(verb, '  of which Node start-up', xs, (x) => x.nodeMs, 'process start to bootstrap complete'),
    row(verb, '  of which flannel code', xs, (x) => x.flannelMs, 'module loading, subnet.env, JSON, state file'),
  ];
}
