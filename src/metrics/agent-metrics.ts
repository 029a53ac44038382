/**
 * What flanneld counts, as one typed interface that components receive through their options.
 * With the health port off the agent gets `NO_METRICS` (empty methods: a hot path pays a call
 * and nothing else, and prom-client is never loaded); with it on, `createPromMetrics`
 * (prom-metrics.ts, a dynamic import) records into a Prometheus registry served on /metrics.
 */
import type { Lease } from '../lease/lease.js';

export type AddressFamily = 'ipv4' | 'ipv6';
export type StoreKind = 'etcd' | 'kube';
export type OpResult = 'ok' | 'error';

export interface LeaseFacts {
  /** The subnets held, e.g. "10.5.1.0/24" and/or "fd00:5:1::/64". */
  readonly subnets: readonly string[];
  /** When the lease expires (undefined for a reservation). */
  readonly expiration?: Date;
}

export interface AgentMetrics {
  /** The lease now held (replaces the previous one). */
  leaseHeld(lease: LeaseFacts): void;
  leaseRenewed(lease: LeaseFacts): void;
  leaseReacquired(lease: LeaseFacts): void;
  /** Remote leases the lease watcher knows. */
  remoteLeases(count: number): void;
  /** Peers whose entries are programmed, per backend and address family. */
  peersProgrammed(backend: string, family: AddressFamily, count: number): void;
  /** One full data-path reconcile: its duration and the entries it re-created or fixed. */
  reconcileRun(seconds: number, repairs: number): void;
  /** One kernel operation (e.g. kind "route", "neighbor", "fdb"). */
  kernelOp(kind: string, result: OpResult): void;
  storeRequest(store: StoreKind, result: OpResult): void;
  storeReconnect(store: StoreKind): void;
  storeWatchResume(store: StoreKind): void;
  /** One periodic check of the masquerade/forward rules, and how many it had to put back. */
  ruleResync(restored: number): void;
}

/** The lease as the metrics show it: its subnets and expiry. */
export function leaseFacts(lease: Lease): LeaseFacts {
  const subnets = [lease.subnet, lease.ipv6Subnet].filter((s) => s !== undefined).map((s) => s.toString());
  return { subnets, expiration: lease.expiration };
}

/** What a subnet store client reports (flannel_store_*), for one store kind. */
export type StoreMetrics = Pick<AgentMetrics, 'storeRequest' | 'storeReconnect' | 'storeWatchResume'>;

/** What a backend's PeerNetwork reports: AgentMetrics bound to the backend's type. */
export interface PeerMetrics {
  peersProgrammed(family: AddressFamily, count: number): void;
  reconcileRun(seconds: number, repairs: number): void;
}

/** The PeerMetrics of `backend` recording into `m`. */
export function peerMetricsOf(m: AgentMetrics, backend: string): PeerMetrics {
  return {
    peersProgrammed: (family, count) => m.peersProgrammed(backend, family, count),
    reconcileRun: (seconds, repairs) => m.reconcileRun(seconds, repairs),
  };
}

const nothing = (): void => {};

/** Metrics off: every method does nothing. */
export const NO_METRICS: AgentMetrics = Object.freeze({
  leaseHeld: nothing,
  leaseRenewed: nothing,
  leaseReacquired: nothing,
  remoteLeases: nothing,
  peersProgrammed: nothing,
  reconcileRun: nothing,
  kernelOp: nothing,
  storeRequest: nothing,
  storeReconnect: nothing,
  storeWatchResume: nothing,
  ruleResync: nothing,
});
