import type { Lease, LeaseEvent } from '../../lease/lease.js';
import type { LeaseWatchResult } from '../subnet-manager.js';

/**
 * The queue between the node cache and one watchLeases() consumer. Events that arrive while
 * the consumer is busy are coalesced into one batch; a snapshot replaces everything still
 * pending (it supersedes it), so a slow consumer never holds more than one snapshot plus the
 * events after it.
 */
export class LeaseFeed {
  private items: Array<{ kind: 'events'; events: LeaseEvent[] } | { kind: 'snapshot'; leases: readonly Lease[] }> = [];
  private waiter: (() => void) | undefined;

  snapshot(leases: readonly Lease[]): void {
    this.items = [{ kind: 'snapshot', leases }];
    this.wake();
  }

  events(events: readonly LeaseEvent[]): void {
    if (events.length === 0) return;
    const last = this.items[this.items.length - 1];
    if (last?.kind === 'events') last.events.push(...events);
    else this.items.push({ kind: 'events', events: [...events] });
    this.wake();
  }

  /** The next result; undefined when the signal aborts. */
  async next(signal: AbortSignal): Promise<LeaseWatchResult | undefined> {
    while (!signal.aborted) {
      const item = this.items.shift();
      if (item) return item;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.waiter = undefined;
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return undefined;
  }

  private wake(): void {
    this.waiter?.();
  }
}
