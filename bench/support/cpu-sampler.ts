/**
 * Samples a process's CPU times every few ms, so that the CPU it spent inside a window known
 * only afterwards (e.g. a reconcile whose start and end the agent logs) can be read back:
 * user time is our JavaScript and V8, system time the kernel working for us (netlink).
 * Resolution: the samples' spacing and /proc's 10 ms ticks.
 */
import { nowMs } from './clock.js';
import { readCpuTimes, type CpuTimes } from './proc-status.js';

interface Sample extends CpuTimes {
  readonly at: number;
}

export class CpuSampler {
  readonly #samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  /** Starts sampling `pid` every `intervalMs` (at most `maxSamples`, then it stops by itself). */
  constructor(
    private readonly pid: number,
    intervalMs = 10,
    maxSamples = 60_000,
  ) {
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      if (this.#samples.length >= maxSamples) return this.stop();
      this.#busy = true;
      void readCpuTimes(this.pid)
        .then((c) => {
          if (c) this.#samples.push({ ...c, at: nowMs() });
        })
        .finally(() => (this.#busy = false));
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** CPU spent between the last sample at or before `from` and the first at or after `to`; undefined without such samples. */
  between(from: number, to: number): (CpuTimes & { readonly fromAt: number; readonly toAt: number }) | undefined {
    const before = this.#samples.filter((s) => s.at <= from).pop();
    const after = this.#samples.find((s) => s.at >= to);
    if (!before || !after) return undefined;
    return { userMs: after.userMs - before.userMs, systemMs: after.systemMs - before.systemMs, fromAt: before.at, toAt: after.at };
  }
}
