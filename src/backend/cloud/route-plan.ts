import { IPNetwork } from '../../ip/ip-network.js';
import type { CloudRoute } from './route-table.js';

/** What the loop knows when it looks at one table. */
export interface PlanInput {
  /** The cluster network (config `Network`): routes outside it are never touched. */
  readonly network: IPNetwork;
  /** This host's lease subnet. */
  readonly own: IPNetwork;
  /** Subnets (CIDR text) of the remote leases known now. */
  readonly leases: ReadonlySet<string>;
  /** Subnets whose lease was removed since the last successful pass: their routes go at once. */
  readonly removedLeases: ReadonlySet<string>;
  /** Whether the loop has the whole lease picture (the first snapshot arrived). */
  readonly synced: boolean;
  /** Routes inside the network with no lease, as seen by earlier passes: key -> first seen (ms). */
  readonly orphanSince: ReadonlyMap<string, number>;
  /** How long a route must stay without a lease before it is removed (a new host's lease may lag its route). */
  readonly orphanGraceMs: number;
  readonly now: number;
}

export interface TablePlan {
  /** The own route is missing or points elsewhere: put it. */
  readonly putOwn: boolean;
  /** Routes to remove, each with why (for the log). */
  readonly remove: readonly { readonly route: CloudRoute; readonly reason: string }[];
  /** The orphans seen now (key -> first seen), to carry to the next pass. */
  readonly orphanSince: ReadonlyMap<string, number>;
  /** Remote leases' routes found in the table (for flannel_peers_programmed). */
  readonly kept: number;
}

/** A route's destination as a network, when it is one of `network`'s subnets (strictly smaller); else undefined. */
export function subnetInside(network: IPNetwork, destination: string): IPNetwork | undefined {
  let dst: IPNetwork;
  try {
    dst = IPNetwork.parse(destination, { strict: true });
  } catch {
    return undefined;
  }
  if (dst.family !== network.family || dst.prefixLength <= network.prefixLength) return undefined;
  return network.covers(dst) ? dst : undefined;
}

/** The key of an orphan route: its destination and target (the same CIDR re-pointed is a new sighting). */
export function orphanKey(route: CloudRoute): string {
  return `${route.destination} ${route.target}`;
}

/**
 * Decides what one reconcile pass does to one table, from the table's routes and the leases:
 * - the own route (own subnet -> this instance) is put when no route of that destination targets us;
 * - a route inside the network whose lease was just removed is removed;
 * - a route inside the network with no lease is removed once it stayed so for `orphanGraceMs`
 *   (only when the lease picture is complete);
 * - routes outside the network (or equal to it, or not parseable) are never touched.
 */
export function planTable(routes: readonly CloudRoute[], input: PlanInput): TablePlan {
  const ownText = input.own.toString();
  let ownOk = false;
  let kept = 0;
  const remove: { route: CloudRoute; reason: string }[] = [];
  const orphans = new Map<string, number>();
  for (const route of routes) {
    const dst = subnetInside(input.network, route.destination);
    if (!dst) continue;
    const text = dst.toString();
    if (text === ownText) {
      if (route.targetsThisInstance) ownOk = true;
      continue;
    }
    if (input.leases.has(text)) {
      kept++;
      continue;
    }
    if (input.removedLeases.has(text)) {
      remove.push({ route, reason: 'its lease was removed' });
      continue;
    }
    if (!input.synced) continue;
    const key = orphanKey(route);
    const since = input.orphanSince.get(key) ?? input.now;
    if (input.now - since >= input.orphanGraceMs) {
      remove.push({ route, reason: `no lease for ${text}` });
    } else {
      orphans.set(key, since);
    }
  }
  return { putOwn: !ownOk, remove, orphanSince: orphans, kept };
}
