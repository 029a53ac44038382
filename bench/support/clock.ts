/** Wall clock with sub-millisecond precision, comparable with `ip -ts` stamps and log times. */
import { performance } from 'node:perf_hooks';

/** ms since the epoch, fractional (performance.timeOrigin + performance.now()). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
