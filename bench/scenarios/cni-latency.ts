/**
 * cni-latency: bin/flannel ADD and DEL with Debian's real bridge and host-local, one pod at a
 * time into fresh pod namespaces behind one host namespace (as test/cni does). Each run's own
 * log line splits its time (since process start) into Node's start-up, flannel's own work and
 * the delegate; the wall time seen by the caller includes `ip netns exec`, given separately.
 */
import { performance } from 'node:perf_hooks';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { round, summarize } from '../support/stats.js';
import { CniRun, SUBNET_ENV_V4, type Scenario as CniScenario } from '../../test/cni/cni-fixture.js';

const PODS = 20;
const TIMING = /([\d.]+) ms since process start: node start-up ([\d.]+), flannel ([\d.]+), delegate \S+ ([\d.]+)/;

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
    const run = await CniRun.create();
    try {
      const s = await run.scenario(PODS);
      await s.writeSubnetEnv(SUBNET_ENV_V4);
      const add: Sample[] = [];
      const del: Sample[] = [];
      ctx.progress(`ADD then DEL of ${PODS} pods`);
      for (let i = 0; i < PODS; i++) add.push(await timed(ctx, s, 'ADD', i));
      for (let i = 0; i < PODS; i++) del.push(await timed(ctx, s, 'DEL', i));
      const baseline: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await s.exec(s.host, ['true']);
        baseline.push(performance.now() - t0);
      }
      return [...figures('ADD', add), ...figures('DEL', del), { metric: '`ip netns exec <host> true` (p50)', value: round(summarize(baseline).p50, 1), unit: 'ms', note: 'part of the wall times above, not of the plugin' }];
    } finally {
      await run.destroy();
    }
  },
};

async function timed(ctx: ScenarioContext, s: CniScenario, verb: 'ADD' | 'DEL', i: number): Promise<Sample> {
  ctx.signal.throwIfAborted();
  const t0 = performance.now();
  const r = await s.invoke(verb, s.conf(), { containerId: `bench${i}`, pod: s.pod(i) });
  const wallMs = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${verb} bench${i}: exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
  const m = TIMING.exec(r.stderr);
  if (!m) throw new Error(`${verb} bench${i}: no timing line in stderr: ${r.stderr}`);
  const [totalMs, nodeMs, flannelMs, delegateMs] = m.slice(1).map(Number) as [number, number, number, number];
  return { wallMs, totalMs, nodeMs, flannelMs, delegateMs };
}

function figures(verb: string, xs: readonly Sample[]): Metric[] {
  const p = (f: (x: Sample) => number) => summarize(xs.map(f));
  const row = (what: string, f: (x: Sample) => number, note?: string): Metric => {
    const s = p(f);
    return { metric: `${verb} ${what} (p50 of ${s.n})`, value: round(s.p50, 1), unit: 'ms', note: `min ${round(s.min, 1)}, max ${round(s.max, 1)}${note ? `; ${note}` : ''}` };
  };
  return [
    row('wall, as the caller sees it', (x) => x.wallMs, 'includes ip netns exec'),
    row('plugin process start to answer', (x) => x.totalMs),
    row("delegate (bridge + host-local)", (x) => x.delegateMs),
    row("plugin's own share", (x) => x.totalMs - x.delegateMs, 'target < 50 ms: Node start-up + flannel'),
    row('  of which Node start-up', (x) => x.nodeMs, 'process start to bootstrap complete'),
    row('  of which flannel code', (x) => x.flannelMs, 'module loading, subnet.env, JSON, state file'),
  ];
}
