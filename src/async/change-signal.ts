/**
 * "Something changed" for waiters that re-check a condition: wait() resolves on the next
 * notify(), after `ms`, or when the signal aborts, whichever comes first (never rejects).
 */
export class ChangeSignal {
  private readonly waiters = new Set<() => void>();

  wait(signal: AbortSignal, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Wakes every current waiter. */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}
