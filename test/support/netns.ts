/**
 * Network-namespace helpers for tests, built on the `ip` tool (test infrastructure only; the
 * product does not parse `ip` output). Also the stale-run cleaner: every harness run writes a
 * marker /run/flannel-ts-test/<run prefix>.pid naming its process; namespaces of runs whose
 * process is gone are deleted, together with the processes still inside them.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './command.js';

export const MARKER_DIR = '/run/flannel-ts-test';

/** Runs argv inside namespace `ns` (`ip netns exec ns argv...`). Equivalent to: `ip netns exec $ns $argv`. */
export function runIn(ns: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/** Equivalent to: `ip netns add $name`. */
export async function createNetns(name: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await run(['ip', 'netns', 'add', name], opts);
}

/** Equivalent to: `ip netns del $name`; a namespace that does not exist is not an error. */
export async function deleteNetns(name: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const res = await run(['ip', 'netns', 'del', name], { ...opts, allowFailure: true });
  if (res.exitCode !== 0 && (await listNetns(opts)).includes(name)) {
    await run(['ip', 'netns', 'del', name], opts);
  }
}

/** Equivalent to: `ip -j netns list`, names only. */
export async function listNetns(opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'netns', 'list'], opts);
  if (stdout.trim() === '') return [];
  const parsed = JSON.parse(stdout) as Array<{ name: string }>;
  return parsed.map((e) => e.name);
}

/** Pids of processes inside namespace `ns`. Equivalent to: `ip netns pids $ns`. */
export async function netnsPids(ns: string, opts: { signal?: AbortSignal } = {}): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { ...opts, allowFailure: true });
  return stdout
    .split('\n')
    .map((l) => Number.parseInt(l, 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** What a run writes to its marker file. */
export interface RunMarker {
  pid: number;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), against pid reuse. */
  startTime?: number;
  /** The run's temporary directory, removed with the run's namespaces. */
  tmpDir?: string;
}

export function markerPath(runPrefix: string): string {
  return join(MARKER_DIR, `${runPrefix}.pid`);
}

/** State letter and start time (clock ticks since boot) of a process, from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; startTime: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = Number(fields[19]);
    return { state: fields[0] ?? '?', startTime };
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot, or undefined when it does not exist. */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/** True when the process that wrote `marker` still runs: same pid, same start time, not a zombie. */
export function markerAlive(marker: RunMarker): boolean {
  const st = procStat(marker.pid);
  if (st === undefined || st.state === 'Z' || st.state === 'X') return false;
  return marker.startTime === undefined || st.startTime === marker.startTime;
}

/** Reads a marker file; accepts JSON (RunMarker) or a bare pid. Undefined when missing or unreadable. */
export async function readMarker(runPrefix: string): Promise<RunMarker | undefined> {
  let text: string;
  try {
    text = (await readFile(markerPath(runPrefix), 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const m = JSON.parse(text) as Partial<RunMarker>;
    return typeof m.pid === 'number' ? (m as RunMarker) : undefined;
  } catch {
    return undefined;
  }
}

/** The run prefix of a namespace name: `prefixRoot` plus everything up to the next '-'. */
export function runPrefixOf(name: string, prefixRoot: string): string | undefined {
  if (!name.startsWith(prefixRoot)) return undefined;
  const dash = name.indexOf('-', prefixRoot.length);
  return dash > prefixRoot.length ? name.slice(0, dash + 1) : undefined;
}

/**
 * Deletes the namespaces of earlier runs: names starting with `prefixRoot` (e.g. 'ftst-')
 * whose run (e.g. 'ftst-ab12-') has no marker or a marker whose process is gone. Processes
 * still inside them are killed by pid first. Also removes such runs' markers and temp dirs.
 * Returns the namespaces deleted.
 */
export async function cleanStaleNetns(prefixRoot: string, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const byRun = new Map<string, string[]>();
  for (const ns of await listNetns(opts)) {
    const p = runPrefixOf(ns, prefixRoot);
    if (p !== undefined) byRun.set(p, [...(byRun.get(p) ?? []), ns]);
  }
  let markerFiles: string[] = [];
  try {
    markerFiles = await readdir(MARKER_DIR);
  } catch {
    // no marker directory yet
  }
  for (const f of markerFiles) {
    if (f.startsWith(prefixRoot) && f.endsWith('.pid')) {
      const p = f.slice(0, -'.pid'.length);
      if (!byRun.has(p)) byRun.set(p, []);
    }
  }
  const deleted: string[] = [];
  for (const [runPrefix, names] of byRun) {
    const marker = await readMarker(runPrefix);
    if (marker !== undefined && markerAlive(marker)) continue;
    for (const ns of names) {
      for (const pid of await netnsPids(ns, opts)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await deleteNetns(ns, opts);
      deleted.push(ns);
    }
    if (marker?.tmpDir !== undefined && marker.tmpDir.startsWith(join(tmpdir(), runPrefix))) {
      await rm(marker.tmpDir, { recursive: true, force: true });
    }
    await rm(markerPath(runPrefix), { force: true });
  }
  return deleted;
}
