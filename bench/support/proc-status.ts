/**
 * Memory figures of a process from /proc/<pid>/status, and the real node process behind an
 * `ip netns exec ns node ...` spawn (iproute2 execs in place, but a wrapper may fork: then the
 * node process is a child).
 */
import { readFile, readdir } from 'node:fs/promises';

export interface MemoryStatus {
  /** Resident set size now, KiB. */
  readonly vmRssKiB: number;
  /** Peak resident set size ("high water mark"), KiB. */
  readonly vmHwmKiB: number;
}

/** VmRSS and VmHWM of `pid`; undefined when the process is gone. */
export async function readMemoryStatus(pid: number): Promise<MemoryStatus | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const vmRssKiB = field('VmRSS');
  const vmHwmKiB = field('VmHWM');
  return Number.isFinite(vmRssKiB) ? { vmRssKiB, vmHwmKiB } : undefined;
}

async function comm(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function children(pid: number): Promise<number[]> {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const text = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8');
      for (const c of text.trim().split(/\s+/)) if (c !== '') out.push(Number(c));
    } catch {
      // task gone
    }
  }
  return out;
}

/**
 * The pid of the node process started as `pid` (itself when it is node, else the first node
 * process among its descendants, at most `depth` levels down); undefined when none is found.
 */
export async function findNodePid(pid: number, depth = 3): Promise<number | undefined> {
  const name = await comm(pid);
  if (name === undefined) return undefined;
  if (name === 'node' || name.startsWith('node')) return pid;
  if (depth <= 0) return undefined;
  for (const c of await children(pid)) {
    const found = await findNodePid(c, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
