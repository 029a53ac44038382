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

/** The kB fields of /proc/<pid>/status, read once; undefined when the process is gone. */
async function statusFields(pid: number): Promise<((name: string) => number) | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
}

/** VmRSS and VmHWM of `pid`; undefined when the process is gone. */
export async function readMemoryStatus(pid: number): Promise<MemoryStatus | undefined> {
  const field = await statusFields(pid);
  if (!field) return undefined;
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
 * Whether a process name (comm) is a Node.js process: `node` (Node 20), `MainThread` (Node 22+
 * names its main thread so, and comm is the main thread's name; a packaged executable too).
 */
function isNodeComm(name: string): boolean {
  return name.startsWith('node') || name === 'MainThread';
}

/**
 * The pid of the node process started as `pid` (itself when it is node, else the first node
 * process among its descendants, at most `depth` levels down); undefined when none is found.
 */
export async function findNodePid(pid: number, depth = 3): Promise<number | undefined> {
  const name = await comm(pid);
  if (name === undefined) return undefined;
  if (isNodeComm(name)) return pid;
  if (depth <= 0) return undefined;
  for (const c of await children(pid)) {
    const found = await findNodePid(c, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Resident memory split: anonymous (heap, stacks, JIT code) vs file-backed (the node binary, libraries). */
export interface MemoryBreakdown {
  readonly rssAnonKiB: number;
  readonly rssFileKiB: number;
}

export async function readMemoryBreakdown(pid: number): Promise<MemoryBreakdown | undefined> {
  const field = await statusFields(pid);
  if (!field) return undefined;
  return { rssAnonKiB: field('RssAnon'), rssFileKiB: field('RssFile') };
}

/** CPU time a process has used so far, ms (user: our code and V8; system: the kernel on our behalf, netlink included). */
export interface CpuTimes {
  readonly userMs: number;
  readonly systemMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux for every arch that matters). */
const USER_HZ = 100;

/** utime and stime of `pid` from /proc/<pid>/stat; undefined when the process is gone. */
export async function readCpuTimes(pid: number): Promise<CpuTimes | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { userMs: (utime * 1000) / USER_HZ, systemMs: (stime * 1000) / USER_HZ };
}
