/** Small summaries of repeated measurements. */

export interface Summary {
  readonly p50: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** p50 (lower median for an even count), min and max; NaN for an empty list. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { p50: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const p50 = sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
  return { p50, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, n: sorted.length };
}

/** Rounds to `digits` decimals (for the table and JSON, not for computing). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const msToS = (ms: number): number => round(ms / 1000, 4);
export const kibToMiB = (kib: number): number => round(kib / 1024, 1);
