import type { NetworkConfig } from '../config/network-config.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../lease/lease.js';
import type { Logger } from '../log/logger.js';
import type { ExternalInterface } from '../net/external-interface.js';

/** What a backend gets to build its network: no globals, everything passed in. */
export interface BackendContext {
  readonly config: NetworkConfig;
  readonly extIface: ExternalInterface;
  readonly logger: Logger;
  /** Takes this host's lease with the backend's attributes (the daemon adds retries and preferences). */
  readonly acquireLease: (attrs: LeaseAttrs, signal: AbortSignal) => Promise<Lease>;
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
  /** Prepares the data path and acquires the lease. */
  registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network>;
}

export type BackendFactory = () => Backend;
