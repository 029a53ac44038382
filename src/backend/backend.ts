import type { PeerMetrics } from '../metrics/agent-metrics.js';
import type { NetworkConfig } from '../config/network-config.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../lease/lease.js';
import type { KernelOps } from '../kernel/kernel-ops.js';
import type { Logger } from '../log/logger.js';
import type { ExternalInterface } from '../net/external-interface.js';
import type { StoredBackendData } from '../subnet/subnet-manager.js';

/** What a backend gets to build its network: no globals, everything passed in. */
export interface BackendContext {
  readonly config: NetworkConfig;
  readonly extIface: ExternalInterface;
  readonly logger: Logger;
  /** Takes this host's lease with the backend's attributes (the daemon adds retries and preferences). */
  readonly acquireLease: (attrs: LeaseAttrs, signal: AbortSignal) => Promise<Lease>;
  /** The kernel layer, opened on first use (the alloc backend never touches it). */
  readonly kernel: () => KernelOps;
  /** How often a full reconcile of the data path runs, under the kernel change events. */
  readonly resyncMs: number;
  /** Where PeerNetwork reports peers programmed and reconciles (nothing when absent). */
  readonly metrics?: PeerMetrics;
  /** The backend data this host published before, if the store keeps it (kube); see SubnetManager. */
  readonly storedBackendData?: (signal: AbortSignal) => Promise<StoredBackendData>;
}

/** A running network: this host's lease plus the loop that keeps the data path in line with peers. */
export interface Network {
  readonly lease: Lease;
  /** The MTU pods should use (written to subnet.env). */
  readonly mtu: number;
  /**
   * Consumes batches of remote lease events (each batch = one store response or snapshot diff)
   * until the signal aborts. Must not tear down the data path on abort: a restart keeps it.
   */
  run(events: AsyncIterable<readonly LeaseEvent[]>, signal: AbortSignal): Promise<void>;
}

export interface Backend {
  readonly type: string;
  /** Whether the backend programs the kernel (the daemon then loads the netlink layer). */
  readonly usesKernel: boolean;
  /** Prepares the data path and acquires the lease. */
  registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network>;
}

/** Loads a backend's code (a dynamic import: a host pays only for the backend it runs) and builds it. */
export type BackendFactory = () => Promise<Backend>;
