import type { IPNetwork } from '../../ip/ip-network.js';

/**
 * The seam between the shared cloud route loop (cloud-route-network.ts) and one cloud's
 * API (aws-vpc, gce, tencent-vpc). A provider discovers this instance and its table(s) once
 * (metadata service, options), then lists, puts and removes routes; the loop decides which.
 * The provider's SDK is imported inside its own folder only, when that backend is chosen.
 */
export interface CloudRoute {
  /** The destination CIDR as the cloud reports it (e.g. "10.244.3.0/24"). */
  readonly destination: string;
  /** Whether the route's target is this instance (its next hop, instance ID or ENI). */
  readonly targetsThisInstance: boolean;
  /** Provider-specific identity needed to delete it (route ID, route name...); opaque to the loop. */
  readonly handle?: string;
  /** For logs: the target as the cloud names it. */
  readonly target: string;
}

export interface CloudRouteTable {
  /** For logs and errors: the table's name or ID (e.g. "rtb-0abc", "network default", "rtb-xyz"). */
  readonly name: string;
  /** Every route of the table (the loop filters to the cluster network; nothing else is ever touched). */
  list(signal: AbortSignal): Promise<CloudRoute[]>;
  /** Creates, or replaces when it exists with another target, the route `destination -> this instance`. */
  put(destination: IPNetwork, signal: AbortSignal): Promise<void>;
  /** Removes a route returned by list() (absent already: not an error). */
  remove(route: CloudRoute, signal: AbortSignal): Promise<void>;
}

export interface CloudProvider {
  /** The backend type (`aws-vpc`, `gce`, `tencent-vpc`), for logs. */
  readonly type: string;
  /** This instance's identity for logs (e.g. "i-0123 in eu-west-1"). */
  readonly instance: string;
  /** The table(s) this host writes its route into (aws-vpc may have several). */
  readonly tables: readonly CloudRouteTable[];
}
