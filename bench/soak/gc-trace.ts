/**
 * The V8 heap after every full garbage collection, read from the agent's own log: the soak
 * starts its agents with `--trace-gc --trace-gc-ignore-scavenger`, so each mark-compact prints
 *   [pid:0x…]   106468 ms: Mark-Compact 11.9 (13.6) -> 9.4 (13.3) MB, …
 * (time since the isolate started; heap used (committed) before -> after, V8's MB = MiB).
 * "Used after a full GC" is what the live objects take: it grows only when something keeps
 * objects alive, while RSS also grows as V8 and malloc size their pools to the load.
 */

export const GC_TRACE_FLAGS: readonly string[] = ['--trace-gc', '--trace-gc-ignore-scavenger'];

export interface FullGc {
  /** ms since the agent's isolate started. */
  readonly ms: number;
  /** V8 heap used after the collection, MiB. */
  readonly usedAfterMiB: number;
  /** V8 heap committed after the collection, MiB. */
  readonly committedAfterMiB: number;
}

const MARK_COMPACT = /^\[\d+:0x[0-9a-f]+\]\s+(\d+(?:\.\d+)?) ms: Mark-Compact(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

/** Every full collection traced in `log` (other lines ignored), in log order. */
export function parseFullGcs(log: string): FullGc[] {
  const out: FullGc[] = [];
  for (const line of log.split('\n')) {
    const m = MARK_COMPACT.exec(line);
    if (m) out.push({ ms: Number(m[1]), usedAfterMiB: Number(m[2]), committedAfterMiB: Number(m[3]) });
  }
  return out;
}

/** BENCH_AGENT_NODE_FLAGS (read by bench/support/agent-command.ts) with the GC trace flags first; a later flag wins. */
export function withGcTraceFlags(current: string | undefined): string {
  const own = current?.trim();
  return [...GC_TRACE_FLAGS, ...(own && own !== 'none' ? [own] : [])].join(' ');
}
