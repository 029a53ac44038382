/**
 * Least-squares slopes of memory over time, and the thresholds a soak calls flat.
 *
 * Two series, two rules (bench/soak/soak.ts explains why):
 * - the V8 heap used after each full GC (gc-trace.ts) is the leak detector: it counts only live
 *   objects, so it stays flat unless something keeps them alive;
 * - anonymous RSS (RssAnon: the heap, malloc, buffers; not the executable's pages) less the V8
 *   heap's committed size at that moment guards against what the V8 heap cannot see (buffers,
 *   native memory), without the heap's own sawtooth (V8 lets garbage pile up to a few times the
 *   live size between full GCs).
 */

export interface RssSample {
  /** Seconds since the soak started. */
  readonly t: number;
  /** VmRSS, MiB. */
  readonly rssMiB: number;
  /** RssAnon, MiB (NaN when the kernel does not report it). */
  readonly anonMiB?: number;
  /** RssAnon less the V8 heap's committed size at that moment (gc-trace.ts), MiB: memory outside the V8 heap. */
  readonly outsideHeapMiB?: number;
}

/** Slope of the least-squares line through (t, value), per hour; NaN for fewer than 2 distinct times. */
export function slopePerHour<T extends { readonly t: number }>(samples: readonly T[], value: (s: T) => number): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mt = samples.reduce((s, p) => s + p.t, 0) / n;
  const mv = samples.reduce((s, p) => s + value(p), 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.t - mt) * (value(p) - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 3600;
}

/** Slope of VmRSS, MiB per hour. */
export function slopeMiBPerHour(samples: ReadonlyArray<{ readonly t: number; readonly rssMiB: number }>): number {
  return slopePerHour(samples, (s) => s.rssMiB);
}

/**
 * What the GC sawtooth alone may add over a window (MiB): V8 lets the old generation grow a
 * few MiB between major collections, so a fit over a short window sees that much as "growth".
 */
export const RSS_NOISE_MIB = 4;
/** The floor for long runs: 10 MiB/h is a leak of ~0.5 KiB per lease event at the soak's churn rate. */
export const RSS_FLOOR_MIB_PER_HOUR = 10;

/** Flat = slope under max(floor, noise spread over the fitted window). */
export function rssThresholdMiBPerHour(windowSeconds: number): number {
  return threshold(windowSeconds, RSS_FLOOR_MIB_PER_HOUR, RSS_NOISE_MIB);
}

/**
 * How much the heap after a full GC moves without a leak (MiB), measured in a 12-minute soak
 * (2026-12-03): 8.9-9.7 MiB from one full GC to the next with what is live at that moment (the
 * 130-150 leases, a store reply or kernel dump in flight), plus ~0.5 MiB of compiled code as V8
 * compiles the paths churn and etcd restarts reach (bounded: heap snapshots showed it as the only
 * growth, 0.50-0.54 of 0.52-0.57 MiB in 8 minutes).
 */
export const HEAP_NOISE_MIB = 1.5;
/** 1 MiB/h is a leak of ~70 bytes per lease event at the soak's ~15,000 events an hour. */
export const HEAP_FLOOR_MIB_PER_HOUR = 1;

/** Flat heap = slope of heap used after full GCs under max(floor, noise spread over the window). */
export function heapThresholdMiBPerHour(windowSeconds: number): number {
  return threshold(windowSeconds, HEAP_FLOOR_MIB_PER_HOUR, HEAP_NOISE_MIB);
}

function threshold(windowSeconds: number, floor: number, noise: number): number {
  if (!(windowSeconds > 0)) return Infinity;
  return Math.max(floor, noise / (windowSeconds / 3600));
}
