/**
 * The V8 heap after every garbage collection, read from the agent's own log: the soak starts
 * its agents with `--trace-gc`, so each collection prints
 *   [pid:0x…]   106468 ms: Mark-Compact 11.9 (13.6) -> 9.4 (13.3) MB, …
 *   [pid:0x…]   106901 ms: Scavenge 10.2 (13.6) -> 9.5 (13.6) MB, …
 * (time since the isolate started; heap used (committed) before -> after, V8's MB = MiB).
 * "Used after a full GC" (Mark-Compact) is what the live objects take: it grows only when
 * something keeps objects alive. "Committed" (after any collection, young ones every second or
 * so) is what the heap holds of RSS: between full GCs V8 lets the old generation fill with
 * garbage up to a few times the live size, so RSS climbs for minutes without any leak.
 */

export const GC_TRACE_FLAGS: readonly string[] = ['--trace-gc'];

export interface Gc {
  /** ms since the agent's isolate started. */
  readonly ms: number;
  readonly full: boolean;
  readonly usedAfterMiB: number;
  readonly committedAfterMiB: number;
}

export interface FullGc {
  /** ms since the agent's isolate started. */
  readonly ms: number;
  /** V8 heap used after the collection, MiB. */
  readonly usedAfterMiB: number;
  /** V8 heap committed after the collection, MiB. */
  readonly committedAfterMiB: number;
}

const GC_LINE = /^\[\d+:0x[0-9a-f]+\]\s+(\d+(?:\.\d+)?) ms: (Mark-Compact|Scavenge|Minor Mark-Sweep)(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

/** Every collection traced in `log` (other lines ignored), in log order. */
export function parseGcs(log: string): Gc[] {
  const out: Gc[] = [];
  for (const line of log.split('\n')) {
    const m = GC_LINE.exec(line);
    if (m) out.push({ ms: Number(m[1]), full: m[2] === 'Mark-Compact', usedAfterMiB: Number(m[3]), committedAfterMiB: Number(m[4]) });
  }
  return out;
}

/** Every full collection traced in `log`, in log order. */
export function parseFullGcs(log: string): FullGc[] {
  return parseGcs(log)
    .filter((g) => g.full)
    .map(({ ms, usedAfterMiB, committedAfterMiB }) => ({ ms, usedAfterMiB, committedAfterMiB }));
}

/**
 * The heap's committed size at `t` (any unit, same as `gcs[].t`): after the last collection at
 * or before `t`, if that was at most `maxAge` earlier; NaN otherwise. `gcs` sorted by t.
 */
export function committedAt(gcs: ReadonlyArray<{ readonly t: number; readonly committedAfterMiB: number }>, t: number, maxAge: number): number {
  let lo = 0;
  let hi = gcs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((gcs[mid]?.t ?? Infinity) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const g = gcs[found];
  return g !== undefined && t - g.t <= maxAge ? g.committedAfterMiB : NaN;
}

/** BENCH_AGENT_NODE_FLAGS (read by bench/support/agent-command.ts) with the GC trace flags first; a later flag wins. */
export function withGcTraceFlags(current: string | undefined): string {
  const own = current?.trim();
  return [...GC_TRACE_FLAGS, ...(own && own !== 'none' ? [own] : [])].join(' ');
}
