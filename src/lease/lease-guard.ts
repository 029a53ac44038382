/**
 * The gate between the store and the data path: a remote lease that would take traffic that
 * is not its own is refused before any backend sees it. Refused are a subnet outside the
 * cluster network (or of a family that is not enabled), a subnet overlapping this host's or
 * another accepted lease's (the first one accepted keeps it), and a public IP that is this
 * host's own or no unicast host address. Backend-specific checks (a VTEP MAC, a WireGuard key)
 * stay in each data path's entriesFor(). Pure logic: no I/O besides one warning per refusal.
 */
import { LeaseRefusedError } from '../errors.js';
import type { IPAddress } from '../ip/ip-address.js';
import { maskOf, type IPNetwork } from '../ip/ip-network.js';
import type { Logger } from '../log/logger.js';
import { describeLease, leaseId, type Lease, type LeaseEvent, type LeaseId } from './lease.js';

export interface LeaseGuardOptions {
  /** The cluster networks of the enabled families (undefined: that family is off). */
  readonly network: IPNetwork | undefined;
  readonly ipv6Network: IPNetwork | undefined;
  /** This host's lease: its subnets and public IPs. */
  readonly own: Pick<Lease, 'subnet' | 'ipv6Subnet' | 'attrs'>;
  /** Other addresses of this host that no peer may claim (the interface's). */
  readonly ownAddresses?: readonly (IPAddress | undefined)[];
  /** Where each refusal is logged, once per lease and reason. */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

interface Refused {
  readonly lease: Lease;
  readonly error: LeaseRefusedError;
  /** The accepted lease it overlaps, if that is why: its removal may admit this one. */
  readonly blockedBy: LeaseId | undefined;
}

/** Accepted subnets of one family by prefix length, then by network address: overlap lookups. */
type SubnetIndex = Map<number, Map<bigint, LeaseId>>;

export class LeaseGuard {
  private readonly accepted = new Map<LeaseId, Lease>();
  private readonly refused = new Map<LeaseId, Refused>();
  private readonly index: Record<4 | 6, SubnetIndex> = { 4: new Map(), 6: new Map() };
  private readonly ownIPs: readonly IPAddress[];

  constructor(private readonly opts: LeaseGuardOptions) {
    const ips = [opts.own.attrs.publicIP, opts.own.attrs.publicIPv6, ...(opts.ownAddresses ?? [])];
    this.ownIPs = ips.filter((ip): ip is IPAddress => ip !== undefined);
  }

  /** Remote leases let through. */
  get size(): number {
    return this.accepted.size;
  }

  /** Remote leases refused (still in the store). */
  get refusedCount(): number {
    return this.refused.size;
  }

  /** The refusal of a lease now held back, if it is. */
  refusalOf(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): LeaseRefusedError | undefined {
    return this.refused.get(leaseId(lease))?.error;
  }

  /**
   * Turns a batch of lease events (LeaseWatcher's output: every change of the store's set) into
   * the events of accepted leases: refused ones are dropped (logged once), a lease that turns
   * bad is removed, and a lease that was held back because it overlapped one that is now gone
   * is added.
   */
  filter(events: readonly LeaseEvent[]): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const ev of events) {
      const id = leaseId(ev.lease);
      const old = this.accepted.get(id);
      if (ev.type === 'removed') {
        if (this.refused.delete(id)) continue;
        if (!old) continue;
        this.unaccept(id, old);
        out.push({ type: 'removed', lease: old });
        this.readmit(id, out);
        continue;
      }
      if (old) this.unaccept(id, old);
      if (this.admit(id, ev.lease)) out.push(ev);
      else if (old) {
        out.push({ type: 'removed', lease: old });
        this.readmit(id, out);
      }
    }
    return out;
  }

  /** Checks and records one lease; true when it is accepted. */
  private admit(id: LeaseId, lease: Lease): boolean {
    const why = this.problem(lease) ?? this.overlap(id, lease);
    if (why === undefined) {
      this.refused.delete(id);
      this.accepted.set(id, lease);
      for (const n of this.subnetsOf(lease)) this.indexOf(n).set(n.ip.value, id);
      return true;
    }
    const name = nameOf(lease);
    const before = this.refused.get(id);
    const error = before && before.error.reason === why.reason ? before.error : new LeaseRefusedError(name, why.reason);
    if (error !== before?.error) this.opts.logger?.warn(`${error.message}; nothing of it is programmed`);
    this.refused.set(id, { lease, error, blockedBy: why.blockedBy });
    return false;
  }

  private unaccept(id: LeaseId, lease: Lease): void {
    this.accepted.delete(id);
    for (const n of this.subnetsOf(lease)) {
      const byAddr = this.index[n.family].get(n.prefixLength);
      if (byAddr?.get(n.ip.value) === id) byAddr.delete(n.ip.value);
    }
  }

  /** Leases held back by `gone` are checked again (in the order they came). */
  private readmit(gone: LeaseId, out: LeaseEvent[]): void {
    for (const [id, r] of this.refused) {
      if (r.blockedBy !== gone) continue;
      this.refused.delete(id);
      if (this.admit(id, r.lease)) {
        this.opts.logger?.info(`lease ${nameOf(r.lease)} no longer overlaps another: accepted`);
        out.push({ type: 'added', lease: r.lease });
      }
    }
  }

  /** What is wrong with the lease on its own (against the network and this host), if anything. */
  private problem(lease: Lease): { reason: string; blockedBy?: undefined } | undefined {
    const o = this.opts;
    const subnets = this.subnetsOf(lease);
    if (subnets.length === 0) return { reason: 'it has no subnet of a family this network carries' };
    for (const n of subnets) {
      const net = (n.family === 4 ? o.network : o.ipv6Network) as IPNetwork;
      if (!net.covers(n)) return { reason: `its subnet ${n.toString()} is outside the network ${net.toString()}` };
      for (const mine of [o.own.subnet, o.own.ipv6Subnet]) {
        if (mine && mine.family === n.family && mine.overlaps(n)) return { reason: `its subnet ${n.toString()} overlaps this host's subnet ${mine.toString()}` };
      }
    }
    for (const ip of [lease.attrs.publicIP, lease.attrs.publicIPv6]) {
      if (!ip) continue;
      if (this.ownIPs.some((mine) => mine.equals(ip))) return { reason: `its public IP ${ip.toString()} is this host's own` };
      if (!isUnicastHost(ip)) return { reason: `its public IP ${ip.toString()} is not a unicast host address` };
    }
    return undefined;
  }

  /** The accepted lease whose subnet overlaps one of this lease's, if any. */
  private overlap(id: LeaseId, lease: Lease): { reason: string; blockedBy: LeaseId } | undefined {
    for (const n of this.subnetsOf(lease)) {
      const other = this.overlapping(n, id);
      if (other !== undefined) {
        const l = this.accepted.get(other);
        return { reason: `its subnet ${n.toString()} overlaps the lease ${l ? nameOf(l) : String(other)}`, blockedBy: other };
      }
    }
    return undefined;
  }

  /**
   * The lease's subnets of the families this network carries. A subnet of a family that is off
   * is left alone, as every backend leaves it: a dual-stack peer stays a peer of an IPv4 network.
   */
  private subnetsOf(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): IPNetwork[] {
    const out: IPNetwork[] = [];
    if (lease.subnet && this.opts.network) out.push(lease.subnet);
    if (lease.ipv6Subnet && this.opts.ipv6Network) out.push(lease.ipv6Subnet);
    return out;
  }

  private overlapping(n: IPNetwork, self: LeaseId): LeaseId | undefined {
    for (const [len, byAddr] of this.index[n.family]) {
      if (byAddr.size === 0) continue;
      if (len <= n.prefixLength) {
        // A shorter (or equal) accepted prefix covers n exactly when n's address masked to it is its address.
        const hit = byAddr.get(n.ip.value & maskOf(n.family, len));
        if (hit !== undefined && hit !== self) return hit;
        continue;
      }
      // Longer accepted prefixes inside n: few candidates are looked up, else the few entries scanned.
      const span = len - n.prefixLength;
      if (span <= 16 && 2 ** span <= byAddr.size) {
        const step = 1n << BigInt(n.ip.bits - len);
        for (let i = 0n, v = n.ip.value; i < 1n << BigInt(span); i++, v += step) {
          const hit = byAddr.get(v);
          if (hit !== undefined && hit !== self) return hit;
        }
      } else {
        const mask = maskOf(n.family, n.prefixLength);
        for (const [addr, hit] of byAddr) if ((addr & mask) === n.ip.value && hit !== self) return hit;
      }
    }
    return undefined;
  }

  private indexOf(n: IPNetwork): Map<bigint, LeaseId> {
    const idx = this.index[n.family];
    let byAddr = idx.get(n.prefixLength);
    if (!byAddr) idx.set(n.prefixLength, (byAddr = new Map()));
    return byAddr;
  }
}

/** The lease as the log names it: its subnets and public IPs. */
function nameOf(lease: Lease): string {
  const ips = [lease.attrs.publicIP, lease.attrs.publicIPv6].filter((ip) => ip !== undefined).map((ip) => ip.toString());
  return `${describeLease(lease) || '(no subnet)'}${ips.length > 0 ? ` (public IP ${ips.join(', ')})` : ''}`;
}

/** Not loopback, multicast, the IPv4 limited broadcast or the unspecified address. */
function isUnicastHost(ip: IPAddress): boolean {
  if (ip.isUnspecified() || ip.isLoopback()) return false;
  if (ip.family === 4) return ip.value >> 28n !== 0xen && ip.value !== 0xffffffffn;
  return ip.value >> 120n !== 0xffn;
}
