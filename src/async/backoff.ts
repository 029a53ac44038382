import { sleep } from './abortable-sleep.js';

/** Exponential backoff with full jitter, capped; reset() after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly initialMs = 200,
    private readonly maxMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay, growing 2x per failure up to maxMs, jittered into [delay/2, delay]. */
  nextDelay(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base / 2 + (base / 2) * this.random());
  }

  async wait(signal?: AbortSignal): Promise<void> {
    await sleep(this.nextDelay(), signal);
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
