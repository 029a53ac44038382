/**
 * poll(): retry a condition until it yields a truthy value, bounded in time. Tests use it
 * instead of sleeps. Each attempt is raced against the deadline, so a hung attempt cannot
 * stretch the wait past `timeoutMs`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { PollTimeoutError } from './errors.js';

export interface PollOptions {
  /** What is awaited, for the timeout message ("subnet file of host 2"). */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** When true an attempt that throws counts as "not yet"; the last error becomes the cause. */
  ignoreErrors?: boolean;
  signal?: AbortSignal;
}

type Falsy = false | 0 | '' | null | undefined;

export async function poll<T>(fn: () => T | Falsy | Promise<T | Falsy>, opts: PollOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = Math.max(1, opts.intervalMs ?? 50);
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  // Bounded: every pass waits at least intervalMs and the loop ends at the deadline.
  while (true) {
    opts.signal?.throwIfAborted();
    attempts++;
    const remaining = deadline - Date.now();
    try {
      const value = await raceDeadline(Promise.resolve().then(fn), remaining);
      if (value) return value as T;
    } catch (err) {
      if (err === DEADLINE) break;
      if (!opts.ignoreErrors) throw err;
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await delay(Math.min(intervalMs, left), undefined, { signal: opts.signal });
  }
  throw new PollTimeoutError(opts.what, timeoutMs, attempts, lastError === undefined ? undefined : { cause: lastError });
}

const DEADLINE = Symbol('deadline');

async function raceDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) {
    p.catch(() => {});
    throw DEADLINE;
  }
  const ac = new AbortController();
  const timer = delay(ms, undefined, { signal: ac.signal }).then(
    () => {
      throw DEADLINE;
    },
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([p, timer]);
  } finally {
    ac.abort();
    p.catch(() => {});
  }
}
