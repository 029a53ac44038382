import type { IPNetwork } from '../ip/ip-network.js';
import type { FdbEntry } from '../kernel/fdb.js';
import type { Neighbor } from '../kernel/neighbor.js';
import type { Route } from '../kernel/route.js';
import type { Lease } from '../lease/lease.js';

/**
 * A per-peer object that a data path programs itself, outside rtnetlink (a WireGuard peer):
 * `key` identifies it, equal `fingerprint`s mean nothing to change. The data path that made it
 * applies it (DataPath.applyObjects) and may extend it with what it needs.
 */
export interface PeerObject {
  readonly key: string;
  readonly fingerprint: string;
}

/** The kernel objects that make one remote lease reachable. */
export interface PeerEntries {
  readonly routes: readonly Route[];
  readonly neighbors: readonly Neighbor[];
  readonly fdb: readonly FdbEntry[];
  readonly objects?: readonly PeerObject[];
}

export const NO_ENTRIES: PeerEntries = { routes: [], neighbors: [], fdb: [] };

/** Identity of a route for diffing: where it goes (main table). */
export function routeKey(r: Route): string {
  return `${r.table ?? 254}|${r.dst.toString()}`;
}

/** Whether an installed route is exactly the desired one (gateway, device, onlink). */
export function sameRoute(want: Route, have: Route): boolean {
  return (
    (want.gateway?.toString() ?? '') === (have.gateway?.toString() ?? '') &&
    (want.linkIndex ?? 0) === (have.linkIndex ?? 0) &&
    Boolean(want.onlink) === Boolean(have.onlink)
  );
}

export function neighborKey(n: Neighbor): string {
  return `${n.linkIndex}|${n.ip.toString()}`;
}

export function sameNeighbor(want: Neighbor, have: Neighbor): boolean {
  return (want.hardwareAddr ?? '').toLowerCase() === (have.hardwareAddr ?? '').toLowerCase() && (have.state ?? 0x80) === 0x80;
}

export function fdbKey(f: FdbEntry): string {
  return `${f.linkIndex}|${f.hardwareAddr.toLowerCase()}|${f.dst?.toString() ?? ''}`;
}

/** What to change so that `have` (the kernel, filtered to what we own) becomes `want`. */
export interface EntryDiff {
  readonly routes: { readonly put: Route[]; readonly del: Route[] };
  readonly neighbors: { readonly put: Neighbor[]; readonly del: Neighbor[] };
  readonly fdb: { readonly put: FdbEntry[]; readonly del: FdbEntry[] };
  readonly objects: { readonly put: PeerObject[]; readonly del: PeerObject[] };
}

function diffBy<T>(want: readonly T[], have: readonly T[], key: (x: T) => string, same: (w: T, h: T) => boolean) {
  // Nothing installed (a first start): everything wanted goes in, and no key is built.
  if (have.length === 0) return { put: want.slice(), del: [] as T[] };
  const haveMap = new Map<string, T>();
  for (const h of have) haveMap.set(key(h), h);
  const put: T[] = [];
  const wanted = new Set<string>();
  for (const w of want) {
    const k = key(w);
    wanted.add(k);
    const h = haveMap.get(k);
    if (!h || !same(w, h)) put.push(w);
  }
  const del: T[] = [];
  for (const [k, h] of haveMap) if (!wanted.has(k)) del.push(h);
  return { put, del };
}

export function diffEntries(want: PeerEntries, have: PeerEntries): EntryDiff {
  return {
    routes: diffBy(want.routes, have.routes, routeKey, sameRoute),
    neighbors: diffBy(want.neighbors, have.neighbors, neighborKey, sameNeighbor),
    fdb: diffBy(want.fdb, have.fdb, fdbKey, () => true),
    objects: diffBy(want.objects ?? [], have.objects ?? [], (o) => o.key, (w, h) => w.fingerprint === h.fingerprint),
  };
}

/** Mutable entry lists that PeerEntries are gathered into. */
export interface EntryLists {
  readonly routes: Route[];
  readonly neighbors: Neighbor[];
  readonly fdb: FdbEntry[];
  readonly objects: PeerObject[];
}

export function emptyEntryLists(): EntryLists {
  return { routes: [], neighbors: [], fdb: [], objects: [] };
}

/** Appends one peer's entries to `into` (element by element: no spread of a temporary). */
export function appendEntries(into: EntryLists, p: PeerEntries): void {
  for (const r of p.routes) into.routes.push(r);
  for (const n of p.neighbors) into.neighbors.push(n);
  for (const f of p.fdb) into.fdb.push(f);
  if (p.objects) for (const o of p.objects) into.objects.push(o);
}

export function mergeEntries(parts: Iterable<PeerEntries>): PeerEntries {
  const out = emptyEntryLists();
  for (const p of parts) appendEntries(out, p);
  return out;
}

export function countChanges(d: EntryDiff): number {
  return (
    d.routes.put.length + d.routes.del.length + d.neighbors.put.length + d.neighbors.del.length + d.fdb.put.length + d.fdb.del.length + d.objects.put.length + d.objects.del.length
  );
}

/** Whether `net` lies inside one of the cluster networks (so a route to it is flannel's). */
export function insideAny(nets: readonly (IPNetwork | undefined)[], net: IPNetwork): boolean {
  return nets.some((n) => n !== undefined && n.covers(net));
}

/**
 * Whether an installed route is one of ours to manage: into a cluster network, and not to this
 * host's own subnet (that one belongs to the pod bridge).
 */
export function isPeerRoute(clusterNets: readonly (IPNetwork | undefined)[], own: Pick<Lease, 'subnet' | 'ipv6Subnet'>): (r: Route) => boolean {
  const mine = [own.subnet, own.ipv6Subnet].filter((n) => n !== undefined);
  return (r) => insideAny(clusterNets, r.dst) && !mine.some((o) => o.equals(r.dst));
}
