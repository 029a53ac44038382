import { leaseId, type Lease, type LeaseEvent, type LeaseId } from './lease.js';

/**
 * Keeps the set of other hosts' leases and turns store events or full snapshots into the
 * minimal list of added/removed events for the backends. Pure logic: no I/O, O(1) per event.
 */
export class LeaseWatcher {
  private readonly leases = new Map<LeaseId, Lease>();
  private readonly ownKey: LeaseId | undefined;

  constructor(ownLease?: Pick<Lease, 'subnet' | 'ipv6Subnet'>) {
    this.ownKey = ownLease ? leaseId(ownLease) : undefined;
  }

  /** The current set of remote leases. */
  get current(): IterableIterator<Lease> {
    return this.leases.values();
  }

  get size(): number {
    return this.leases.size;
  }

  /**
   * Applies incremental events; returns those that change the set (own lease filtered out).
   * A removal carries the lease as it was known (a store's delete event has no attributes, and
   * a backend needs them, e.g. the VTEP MAC, to tear the peer down).
   */
  update(events: Iterable<LeaseEvent>): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const ev of events) {
      const key = leaseId(ev.lease);
      if (key === this.ownKey) continue;
      const old = this.leases.get(key);
      if (ev.type === 'added') {
        this.leases.set(key, ev.lease);
        if (!old || !sameAttrs(old, ev.lease)) out.push(ev);
      } else if (old) {
        this.leases.delete(key);
        out.push({ type: 'removed', lease: old });
      }
    }
    return out;
  }

  /** Replaces the set with a snapshot; returns removals for leases gone and adds for new or changed ones. */
  reset(snapshot: Iterable<Lease>): LeaseEvent[] {
    const next = new Map<LeaseId, Lease>();
    for (const l of snapshot) {
      const key = leaseId(l);
      if (key !== this.ownKey) next.set(key, l);
    }
    const out: LeaseEvent[] = [];
    for (const [key, old] of this.leases) {
      if (!next.has(key)) out.push({ type: 'removed', lease: old });
    }
    for (const [key, l] of next) {
      const old = this.leases.get(key);
      if (!old || !sameAttrs(old, l)) out.push({ type: 'added', lease: l });
    }
    this.leases.clear();
    for (const [k, l] of next) this.leases.set(k, l);
    return out;
  }
}

/** Whether two leases for the same subnet carry the same data-path facts. */
export function sameAttrs(a: Lease, b: Lease): boolean {
  const x = a.attrs;
  const y = b.attrs;
  return (
    (x.publicIP?.toString() ?? '') === (y.publicIP?.toString() ?? '') &&
    (x.publicIPv6?.toString() ?? '') === (y.publicIPv6?.toString() ?? '') &&
    (x.backendType ?? '') === (y.backendType ?? '') &&
    JSON.stringify(x.backendData ?? null) === JSON.stringify(y.backendData ?? null) &&
    JSON.stringify(x.backendV6Data ?? null) === JSON.stringify(y.backendV6Data ?? null)
  );
}
