/**
 * Counts a host's flannel entries on one device and waits, polling at a bounded interval,
 * until the counts reach a target. Routes (main table, with a gateway) and permanent IPv4
 * neighbours are read from /proc/<pid>/net/{route,arp} of an anchor process (`sleep`) inside
 * the host namespace: a file read, no process spawned, so the poller barely competes with the
 * agent for the CPU. FDB entries have no procfs view: `bridge -j fdb show dev` (it also holds
 * the rtnl lock), so they are dumped only once the other kinds are on target.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { run } from '../../test/support/command.js';
import { HarnessError } from '../../test/support/errors.js';
import { poll } from '../../test/support/poll.js';
import { nowMs } from './clock.js';

export type EntryKind = 'routes' | 'neighbors' | 'fdb';

const DUMP_TIMEOUT_MS = 10_000;
/** ATF_PERM in /proc/net/arp's Flags column (NUD_PERMANENT). */
const ATF_PERM = 0x4;

/** Counts entries in one namespace; close() ends its anchor process. */
export class EntryCounter {
  readonly ns: string;
  readonly #anchor: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(ns: string) {
    this.ns = ns;
    // Bounded: the anchor sleeps at most an hour and is killed by close() (or at our exit).
    this.#anchor = spawn('ip', ['netns', 'exec', ns, 'sleep', '3600'], { stdio: 'ignore' });
    const kill = () => this.#anchor.kill('SIGKILL');
    process.once('exit', kill);
    this.#exited = new Promise((resolve) =>
      this.#anchor.once('close', () => {
        process.off('exit', kill);
        resolve();
      }),
    );
  }

  /** Starts the anchor and waits (bounded) until it runs inside `ns`. */
  static async open(ns: string, signal: AbortSignal): Promise<EntryCounter> {
    const c = new EntryCounter(ns);
    try {
      const want = `net:[${(await stat(`/run/netns/${ns}`)).ino}]`;
      await poll(
        async () => {
          const pid = c.#anchor.pid;
          if (pid === undefined || c.#anchor.exitCode !== null) throw new HarnessError(`netns anchor for ${ns} did not start`);
          return (await readlink(`/proc/${pid}/ns/net`).catch(() => '')) === want;
        },
        { what: `a process inside ${ns}`, timeoutMs: 5000, intervalMs: 5, signal },
      );
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  async close(): Promise<void> {
    this.#anchor.kill('SIGKILL');
    await this.#exited;
  }

  /**
   * How many entries of `kind` device `dev` has: main-table routes with a gateway, permanent
   * IPv4 neighbours, FDB entries with a destination. 0 when the device does not exist.
   */
  async count(dev: string, kind: EntryKind, signal: AbortSignal): Promise<number> {
    if (kind === 'fdb') return countFdb(this.ns, dev, signal);
    const pid = this.#anchor.pid;
    if (pid === undefined || this.#anchor.exitCode !== null) throw new HarnessError(`netns anchor for ${this.ns} is gone`);
    const text = await readFile(`/proc/${pid}/net/${kind === 'routes' ? 'route' : 'arp'}`, 'latin1');
    return kind === 'routes' ? countRoutes(text, dev) : countPermanentNeighbors(text, dev);
  }
}

/**
 * Lines of /proc/net/route on `dev` with a gateway (3rd column) that are not the default route
 * (destination, 2nd column, 0): a scan, no per-line split (5,000 lines per poll).
 */
export function countRoutes(text: string, dev: string): number {
  const head = `\n${dev}\t`;
  let n = 0;
  for (let i = text.indexOf(head); i >= 0; i = text.indexOf(head, i + 1)) {
    const dst = i + head.length;
    const gw = dst + 9; // after "<destination, 8 hex digits>\t"
    if (text.slice(dst, dst + 8) !== '00000000' && text.slice(gw, gw + 8) !== '00000000') n++;
  }
  return n;
}

/** Lines of /proc/net/arp on `dev` (last column) with ATF_PERM in their flags (3rd column). */
export function countPermanentNeighbors(text: string, dev: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.endsWith(` ${dev}`)) continue;
    const flags = Number(line.trim().split(/\s+/)[2]);
    if ((flags & ATF_PERM) !== 0) n++;
  }
  return n;
}

async function countFdb(ns: string, dev: string, signal: AbortSignal): Promise<number> {
  const argv = ['bridge', '-n', ns, '-j', 'fdb', 'show', 'dev', dev];
  const res = await run(argv, { signal, allowFailure: true, timeoutMs: DUMP_TIMEOUT_MS });
  if (res.exitCode !== 0) {
    if (/cannot find device|does not exist/i.test(res.stderr)) return 0;
    throw new HarnessError(`${argv.join(' ')}: exit ${res.exitCode}: ${res.stderr.trim()}`);
  }
  const text = res.stdout.trim();
  return text === '' ? 0 : (JSON.parse(text) as Array<{ dst?: string }>).filter((r) => r.dst !== undefined).length;
}

export interface EntriesReached {
  /** Wall clock (ms, sub-ms precision) when the poll that saw every count at target ended: an upper bound. */
  readonly at: number;
  /** Wall clock when the last poll that still saw a count off target started: a lower bound (t0 if none). */
  readonly notYetAt: number;
  readonly polls: number;
  /** Mean duration of one read of the first kind, ms. */
  readonly meanReadMs: number;
}

export interface WaitEntriesOptions {
  readonly ns: string;
  readonly dev: string;
  /** Ordered: the first is read every poll (make it the one programmed last), the rest once it is on target. */
  readonly kinds: readonly EntryKind[];
  readonly target: number;
  /** Wall clock the wait counts from (for notYetAt when the first poll already matches). */
  readonly t0: number;
  readonly timeoutMs: number;
  /** Pause between polls (default 10 ms: a read of 5,000 routes costs ~5 ms of CPU, which the agent needs on 2 cores). */
  readonly intervalMs?: number;
  readonly signal: AbortSignal;
  /** Checked before every poll; a string ends the wait with that reason (e.g. "the agent exited"). */
  readonly failIf?: () => string | undefined;
  /** An open counter for `ns` (else one is opened and closed around the wait). */
  readonly counter?: EntryCounter;
}

/** Polls until every kind counts `target` entries; bounded by `timeoutMs`. */
export async function waitForEntries(o: WaitEntriesOptions): Promise<EntriesReached> {
  const counter = o.counter ?? (await EntryCounter.open(o.ns, o.signal));
  try {
    return await pollCounts(counter, o);
  } finally {
    if (!o.counter) await counter.close();
  }
}

async function pollCounts(counter: EntryCounter, o: WaitEntriesOptions): Promise<EntriesReached> {
  const [first, ...rest] = o.kinds;
  if (first === undefined) throw new HarnessError('waitForEntries: no entry kinds given');
  const deadline = nowMs() + o.timeoutMs;
  let notYetAt = o.t0;
  let polls = 0;
  let readMs = 0;
  const last: Partial<Record<EntryKind, number>> = {};
  while (nowMs() < deadline) {
    o.signal.throwIfAborted();
    const why = o.failIf?.();
    if (why !== undefined) throw new HarnessError(`waiting for ${o.target} ${o.kinds.join('/')} on ${o.dev} in ${o.ns}: ${why}`);
    const started = nowMs();
    polls++;
    last[first] = await counter.count(o.dev, first, o.signal);
    readMs += nowMs() - started;
    let ok = last[first] === o.target;
    for (const k of rest) {
      if (!ok) break;
      last[k] = await counter.count(o.dev, k, o.signal);
      ok = last[k] === o.target;
    }
    if (ok) return { at: nowMs(), notYetAt, polls, meanReadMs: readMs / polls };
    notYetAt = started;
    await delay(o.intervalMs ?? 10, undefined, { signal: o.signal });
  }
  const seen = Object.entries(last)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  throw new HarnessError(`${o.dev} in ${o.ns}: not ${o.target} ${o.kinds.join('/')} within ${o.timeoutMs} ms (last seen: ${seen || 'nothing'}; ${polls} polls)`);
}
