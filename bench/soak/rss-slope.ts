/** Least-squares slope of RSS over time, and the threshold a soak calls flat. */

export interface RssSample {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly rssMiB: number;
}

/** Slope of the least-squares line through the samples, MiB per hour; NaN for fewer than 2 distinct times. */
export function slopeMiBPerHour(samples: readonly RssSample[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mt = samples.reduce((s, p) => s + p.t, 0) / n;
  const mr = samples.reduce((s, p) => s + p.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.t - mt) * (p.rssMiB - mr);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 3600;
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
  if (!(windowSeconds > 0)) return Infinity;
  return Math.max(RSS_FLOOR_MIB_PER_HOUR, RSS_NOISE_MIB / (windowSeconds / 3600));
}
