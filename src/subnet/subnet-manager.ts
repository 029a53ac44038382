import type { NetworkConfig } from '../config/network-config.js';
import type { IPNetwork } from '../ip/ip-network.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../lease/lease.js';

/**
 * One step of a lease watch: either incremental events (every event of one store response,
 * in order) or a full snapshot after the watch had to start over (compaction, reconnect).
 */
export type LeaseWatchResult =
  | { readonly kind: 'events'; readonly events: readonly LeaseEvent[] }
  | { readonly kind: 'snapshot'; readonly leases: readonly Lease[] };

/** A host's previously published backend data, per family (undefined: none or not JSON). */
export interface StoredBackendData {
  readonly data?: unknown;
  readonly v6Data?: unknown;
}

export interface AcquireOptions {
  readonly signal?: AbortSignal | undefined;
  /** A subnet to prefer when this host has no lease yet (from subnet.env, or a lost lease). */
  readonly preferred?: { readonly subnet?: IPNetwork | undefined; readonly ipv6Subnet?: IPNetwork | undefined } | undefined;
}

/** The store of subnet leases: etcd or the Kubernetes API. */
export interface SubnetManager {
  readonly name: string;
  /** Reads the network config, waiting and retrying while it is missing or the store is down. */
  getNetworkConfig(signal: AbortSignal): Promise<NetworkConfig>;
  /** Takes (or takes back) this host's lease. */
  acquireLease(attrs: LeaseAttrs, opts: AcquireOptions): Promise<Lease>;
  /** Extends the lease; returns it with the new expiration. Throws LeaseLostError if it is gone. */
  renewLease(lease: Lease, signal: AbortSignal): Promise<Lease>;
  /** Watches every lease in the network, starting with a snapshot. Ends when the signal aborts. */
  watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult>;
  /**
   * Called once the network is up (subnet.env written); kube sets the node's NetworkUnavailable
   * condition to false here (flannel's CompleteLease). Optional: etcd has nothing to do.
   */
  onReady?(lease: Lease, signal: AbortSignal): Promise<void>;
  /**
   * The backend data this host published before (kube: the node's backend-data and
   * backend-v6-data annotations, parsed), so a backend re-creating its device keeps the VtepMAC
   * peers know (flannel's GetStoredMacAddresses). Optional: etcd has none.
   */
  storedBackendData?(signal: AbortSignal): Promise<StoredBackendData>;
  close(): void;
}
