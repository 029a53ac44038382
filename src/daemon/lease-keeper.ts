import { sleep } from '../async/abortable-sleep.js';
import { Backoff } from '../async/backoff.js';
import { LeaseLostError, errorMessage } from '../errors.js';
import { describeLease, leaseKey, type Lease } from '../lease/lease.js';
import type { Logger } from '../log/logger.js';
import { NO_METRICS, leaseFacts, type AgentMetrics } from '../metrics/agent-metrics.js';
import type { SubnetManager } from '../subnet/subnet-manager.js';

/**
 * Holds this host's lease: renews it `renewMargin` before expiry (or at a third of its life when
 * the margin is longer than the TTL), and takes it back, preferring the same subnets, when it
 * is lost. Re-acquisitions are serialised.
 */
export class LeaseKeeper {
  private current: Lease;
  private reacquiring: Promise<Lease> | undefined;

  constructor(
    lease: Lease,
    private readonly sm: SubnetManager,
    private readonly renewMarginMs: number,
    private readonly log: Logger,
    /** Called when the lease came back with different subnets: the network must be rebuilt. */
    private readonly onSubnetChanged: (lease: Lease) => void,
    private readonly metrics: AgentMetrics = NO_METRICS,
  ) {
    this.current = lease;
  }

  get lease(): Lease {
    return this.current;
  }

  /** The delay until the next renewal of a lease expiring at `expiration`. */
  static renewDelay(expiration: Date, renewMarginMs: number, now = Date.now()): number {
    const left = Math.max(0, expiration.getTime() - now);
    return Math.max(left - renewMarginMs, left / 3);
  }

  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(500, 5_000);
    while (!signal.aborted) {
      const exp = this.current.expiration;
      if (!exp) return; // a reservation: nothing to renew
      try {
        await sleep(backoff.failures > 0 ? backoff.nextDelay() : LeaseKeeper.renewDelay(exp, this.renewMarginMs), signal);
      } catch {
        return;
      }
      try {
        this.current = await this.sm.renewLease(this.current, signal);
        backoff.reset();
        this.metrics.leaseRenewed(leaseFacts(this.current));
        this.log.v(1).info(`renewed lease ${describeLease(this.current)} until ${this.current.expiration?.toISOString()}`);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof LeaseLostError) {
          await this.reacquire(err.message, signal).catch(() => {});
          backoff.reset();
        } else {
          this.log.warn(`failed to renew lease ${describeLease(this.current)}: ${errorMessage(err)}; retrying`);
          void backoff.nextDelay();
        }
      }
    }
  }

  /** Takes the lease back after it was lost; resolves with the lease now held. */
  reacquire(reason: string, signal: AbortSignal): Promise<Lease> {
    this.reacquiring ??= this.doReacquire(reason, signal).finally(() => (this.reacquiring = undefined));
    return this.reacquiring;
  }

  private async doReacquire(reason: string, signal: AbortSignal): Promise<Lease> {
    const old = this.current;
    this.log.warn(`lease ${describeLease(old)} lost (${reason}); acquiring it again`);
    const backoff = new Backoff(200, 5_000);
    for (;;) {
      try {
        const lease = await this.sm.acquireLease(old.attrs, { signal, preferred: old });
        this.current = lease;
        this.metrics.leaseReacquired(leaseFacts(lease));
        if (leaseKey(lease) !== leaseKey(old)) {
          this.log.error(`lease came back as ${describeLease(lease)} instead of ${describeLease(old)}; rebuilding the network`);
          this.onSubnetChanged(lease);
        } else {
          this.log.info(`lease ${describeLease(lease)} acquired again`);
        }
        return lease;
      } catch (err) {
        if (signal.aborted) throw err;
        this.log.warn(`re-acquiring lease failed: ${errorMessage(err)}; retrying`);
        await backoff.wait(signal);
      }
    }
  }
}
