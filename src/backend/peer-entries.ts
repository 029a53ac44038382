import type { IPNetwork } from '../ip/ip-network.js';
import type { FdbEntry } from '../kernel/fdb.js';
import { RTPROT_KERNEL } from '../kernel/netlink-constants.js';
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

/**
 * The identity of an entry for diffing. A number where the entry allows one (an IPv4 route in
 * the main table, an IPv4 neighbour): a resync of 5,000 peers then builds no key strings for
 * them. A given entry always gets the same kind of key, so numbers and strings never meet.
 */
export type EntryKey = string | number;

const TWO_32 = 2 ** 32;

/** Identity of a route for diffing: where it goes (in which table). */
export function routeKey(r: Route): EntryKey {
  const table = r.table ?? 254;
  if (table === 254 && r.dst.ip.family === 4) return r.dst.prefixLength * TWO_32 + Number(r.dst.ip.value);
  return `${table}|${r.dst.toString()}`;
}

/** Whether an installed route is exactly the desired one (gateway, device, onlink). */
export function sameRoute(want: Route, have: Route): boolean {
  return (
    (want.gateway?.equals(have.gateway) ?? have.gateway === undefined) &&
    (want.linkIndex ?? 0) === (have.linkIndex ?? 0) &&
    Boolean(want.onlink) === Boolean(have.onlink)
  );
}

export function neighborKey(n: Neighbor): EntryKey {
  // Interface indexes below 2^20 keep the number exact (below 2^52).
  if (n.ip.family === 4 && n.linkIndex >= 0 && n.linkIndex < 2 ** 20) return n.linkIndex * TWO_32 + Number(n.ip.value);
  return `${n.linkIndex}|${n.ip.toString()}`;
}

export function sameNeighbor(want: Neighbor, have: Neighbor): boolean {
  return (want.hardwareAddr ?? '').toLowerCase() === (have.hardwareAddr ?? '').toLowerCase() && (have.state ?? 0x80) === 0x80;
}

export function fdbKey(f: FdbEntry): EntryKey {
  return `${f.linkIndex}|${f.hardwareAddr.toLowerCase()}|${f.dst?.toString() ?? ''}`;
}

/** What to change so that `have` (the kernel, filtered to what we own) becomes `want`. */
export interface EntryDiff {
  readonly routes: { readonly put: Route[]; readonly del: Route[] };
  readonly neighbors: { readonly put: Neighbor[]; readonly del: Neighbor[] };
  readonly fdb: { readonly put: FdbEntry[]; readonly del: FdbEntry[] };
  readonly objects: { readonly put: PeerObject[]; readonly del: PeerObject[] };
}

/**
 * The diff of one kind, fed the installed entries one by one. `keep` can be handed to a kernel
 * dump (RouteFilter.keep, ...): each installed entry that is wanted is settled as it is read
 * (put again only if different) and left out, so a resync of thousands of unchanged entries
 * holds none of them; what the dump keeps is what to delete. finish() takes the dump's result
 * whether or not the dump called `keep` (a dump that calls it must honour it).
 */
export class EntrySieve<T> {
  private wanted: Map<EntryKey, T> | undefined;
  /** Keys of wanted entries found installed; those found different are in `changed` too. */
  private readonly matched = new Set<EntryKey>();
  private readonly changed = new Map<EntryKey, T>();

  constructor(
    private readonly want: readonly T[],
    private readonly key: (x: T) => EntryKey,
    private readonly same: (w: T, h: T) => boolean,
  ) {}

  /**
   * False for an installed entry that is wanted (settled here); true for one to delete. Seeing
   * an entry again (a dump the kernel interrupted and restarted) settles it the same way.
   */
  readonly keep = (h: T): boolean => {
    const wanted = (this.wanted ??= this.index());
    const k = this.key(h);
    const w = wanted.get(k);
    if (w === undefined) return true;
    this.matched.add(k);
    if (this.same(w, h)) this.changed.delete(k);
    else this.changed.set(k, w);
    return false;
  };

  /**
   * put: what is wanted and not installed as wanted; del: what is installed and not wanted
   * (`have`: what the dump kept, or everything if it did not call keep). Entries wanted twice
   * under one key are put once.
   */
  finish(have: readonly T[]): { put: T[]; del: T[] } {
    // Nothing installed and nothing seen (a first start): everything goes in, and no key is built.
    if (this.wanted === undefined && have.length === 0) return { put: this.want.slice(), del: [] };
    const del = have.filter(this.keep);
    const put = [...this.changed.values()];
    for (const [k, w] of this.wanted!) if (!this.matched.has(k)) put.push(w);
    return { put, del };
  }

  private index(): Map<EntryKey, T> {
    const m = new Map<EntryKey, T>();
    for (const w of this.want) m.set(this.key(w), w);
    return m;
  }
}

/** The kinds of entries a data path owns; a reconcile may dump and diff them one at a time. */
export type EntryKind = keyof EntryDiff;

/** The sieve of one kind of `want`; sieve.finish(have) is diffKind(). */
export function sieveOf<K extends EntryKind>(kind: K, want: PeerEntries): EntrySieve<KindEntry<K>>;
export function sieveOf(kind: EntryKind, want: PeerEntries): EntrySieve<Route> | EntrySieve<Neighbor> | EntrySieve<FdbEntry> | EntrySieve<PeerObject> {
  switch (kind) {
    case 'routes':
      return new EntrySieve(want.routes, routeKey, sameRoute);
    case 'neighbors':
      return new EntrySieve(want.neighbors, neighborKey, sameNeighbor);
    case 'fdb':
      return new EntrySieve(want.fdb, fdbKey, () => true);
    case 'objects':
      return new EntrySieve(want.objects ?? [], (o) => o.key, (w, h) => w.fingerprint === h.fingerprint);
  }
}

/** The entry type of one kind. */
export type KindEntry<K extends EntryKind> = EntryDiff[K]['put'][number];

/** The installed entries of one kind. */
export function entriesOf<K extends EntryKind>(kind: K, e: PeerEntries): readonly KindEntry<K>[] {
  return (kind === 'objects' ? (e.objects ?? []) : e[kind]) as readonly KindEntry<K>[];
}

/** diffEntries() for one kind only. */
export function diffKind<K extends EntryKind>(kind: K, want: PeerEntries, have: PeerEntries): EntryDiff[K] {
  return sieveOf(kind, want).finish(entriesOf(kind, have)) as EntryDiff[K];
}

export function diffEntries(want: PeerEntries, have: PeerEntries): EntryDiff {
  return {
    routes: diffKind('routes', want, have),
    neighbors: diffKind('neighbors', want, have),
    fdb: diffKind('fdb', want, have),
    objects: diffKind('objects', want, have),
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

/** Appends one kind of one peer's entries to `into`. */
export function appendKind(into: EntryLists, p: PeerEntries, kind: EntryKind): void {
  const to = (kind === 'objects' ? into.objects : into[kind]) as KindEntry<EntryKind>[];
  for (const x of entriesOf(kind, p)) to.push(x);
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
 * Whether an installed route is one of ours to manage: into a cluster network, not to this
 * host's own subnet (that one belongs to the pod bridge), and not one the kernel added itself
 * (the prefix route of an address on our device, such as the /128 on flannel-v6.1).
 */
export function isPeerRoute(clusterNets: readonly (IPNetwork | undefined)[], own: Pick<Lease, 'subnet' | 'ipv6Subnet'>): (r: Route) => boolean {
  const mine = [own.subnet, own.ipv6Subnet].filter((n) => n !== undefined);
  return (r) => r.protocol !== RTPROT_KERNEL && insideAny(clusterNets, r.dst) && !mine.some((o) => o.equals(r.dst));
}
