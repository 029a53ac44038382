/**
 * Which leases belong to hosts gone for longer than a threshold (flannelctl leases gc). Pure.
 *
 * etcd: a lease's key lives on an etcd lease that its host keeps alive; a host that stops is
 * noticed only when it misses a renewal, and etcd deletes the key itself when the TTL runs out.
 * A live flannel (Go or flannel-ts) renews `renewMargin` before expiry, or after a third of the
 * TTL when the margin is longer than that: after a renewal at TTL `granted`, the next one is due
 * `max(granted - margin, granted / 3)` later. Time since the last renewal is `granted - ttl`, so
 * the host is overdue by `(granted - ttl) - max(granted - margin, granted / 3)`; it is "gone for"
 * that long. Reservations (no TTL) are never collected.
 *
 * kube: a lease is a node's annotations, which live as long as the node object. A node is gone
 * when its Ready condition has not been True (False or Unknown: the kubelet stopped reporting)
 * since longer than the threshold; a node deleted from the API takes its lease with it.
 */
import type { StoreLease } from './ctl-context.js';
import { formatSeconds } from './output.js';

export interface GcCandidate {
  readonly lease: StoreLease;
  /** How long the host is known to be gone, in seconds. */
  readonly goneForSeconds: number;
  /** Why, in words. */
  readonly reason: string;
}

export interface GcRule {
  readonly olderThanSeconds: number;
  /** -subnet-lease-renew-margin, in seconds. */
  readonly renewMarginSeconds: number;
  readonly nowMs: number;
}

/** How long a lease's host has been gone (seconds), with why; undefined when it looks alive or cannot be told. */
export function goneFor(l: StoreLease, rule: Omit<GcRule, 'olderThanSeconds'>): { seconds: number; reason: string } | undefined {
  if (l.reserved) return undefined;
  if (l.node !== undefined) {
    const r = l.ready;
    if (r === undefined || r.status === 'True' || r.since === undefined) return undefined;
    const seconds = Math.floor((rule.nowMs - r.since.getTime()) / 1000);
    return { seconds, reason: `node Ready=${r.status} since ${r.since.toISOString()}` };
  }
  if (l.ttlSeconds === undefined || l.grantedTtlSeconds === undefined || l.grantedTtlSeconds <= 0) return undefined;
  const sinceRenewal = l.grantedTtlSeconds - l.ttlSeconds;
  const interval = Math.max(l.grantedTtlSeconds - rule.renewMarginSeconds, l.grantedTtlSeconds / 3);
  const overdue = Math.floor(sinceRenewal - interval);
  if (overdue <= 0) return undefined;
  return { seconds: overdue, reason: `not renewed for ${formatSeconds(sinceRenewal)} (due every ${formatSeconds(interval)}; expires in ${formatSeconds(l.ttlSeconds)})` };
}

/** The leases whose hosts are gone for longer than the threshold. */
export function gcCandidates(leases: readonly StoreLease[], rule: GcRule): GcCandidate[] {
  const out: GcCandidate[] = [];
  for (const lease of leases) {
    const g = goneFor(lease, rule);
    if (g !== undefined && g.seconds > rule.olderThanSeconds) out.push({ lease, goneForSeconds: g.seconds, reason: g.reason });
  }
  return out;
}
