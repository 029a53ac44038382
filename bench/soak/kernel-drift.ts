/**
 * Drift of one agent's vxlan data path from the store: every remote lease in etcd wants a route
 * `<subnet> via <subnet ip> dev flannel.1 onlink`, a permanent neighbour `<subnet ip> lladdr
 * <VtepMAC>` and an FDB entry `<VtepMAC> dst <PublicIP>`; whatever else is on flannel.1 is extra.
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { readFdb, readNeighbors, readRoutes, routeLine } from '../../test/cluster/kernel-state.js';
import { SUBNETS_PREFIX } from '../support/peer-leases.js';

export const VXLAN_DEV = 'flannel.1';

export type DriftKind = 'routes' | 'neigh' | 'fdb';
export const DRIFT_KINDS: readonly DriftKind[] = ['routes', 'neigh', 'fdb'];

export interface StoreLease {
  /** e.g. 10.0.3.0 */
  readonly net: string;
  readonly prefixLength: number;
  readonly publicIP: string;
  readonly mac: string;
}

export interface Drift {
  readonly missing: number;
  readonly extra: number;
  readonly byKind: Record<DriftKind, { missing: number; extra: number }>;
  /** A few of the differing lines, for the report. */
  readonly sample: readonly string[];
}

/** The vxlan leases in the store (keys `10.0.3.0-24`); values that do not parse are skipped. */
export async function readStoreLeases(client: EtcdHttpClient, signal: AbortSignal): Promise<StoreLease[]> {
  const { kvs } = await client.rangePrefix(SUBNETS_PREFIX, { signal });
  const out: StoreLease[] = [];
  for (const kv of kvs) {
    const m = /(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(kv.key);
    if (!m) continue;
    try {
      const v = JSON.parse(kv.value) as { PublicIP?: string; BackendData?: { VtepMAC?: string } };
      if (v.PublicIP && v.BackendData?.VtepMAC) out.push({ net: m[1] ?? '', prefixLength: Number(m[2]), publicIP: v.PublicIP, mac: v.BackendData.VtepMAC.toLowerCase() });
    } catch {
      // not a lease flanneld would program either
    }
  }
  return out;
}

/** The lines the kernel of host `host` should hold on flannel.1 for `leases`, except its own subnet. */
export function wantedLines(leases: readonly StoreLease[], ownNet: string): Record<DriftKind, Set<string>> {
  const want: Record<DriftKind, Set<string>> = { routes: new Set(), neigh: new Set(), fdb: new Set() };
  for (const l of leases) {
    if (l.net === ownNet) continue;
    want.routes.add(`${l.net}/${l.prefixLength} via ${l.net} dev ${VXLAN_DEV} onlink`);
    want.neigh.add(`${l.net} lladdr ${l.mac} PERMANENT`);
    want.fdb.add(`${l.mac} dst ${l.publicIP}`);
  }
  return want;
}

/** What host `host` holds on flannel.1, as the same lines. */
export async function kernelLines(cluster: Cluster, host: number, kinds: readonly DriftKind[] = DRIFT_KINDS): Promise<Record<DriftKind, Set<string>>> {
  const have: Record<DriftKind, Set<string>> = { routes: new Set(), neigh: new Set(), fdb: new Set() };
  if (kinds.includes('routes')) {
    for (const r of await readRoutes(cluster, host, 4)) if (r.dev === VXLAN_DEV && r.gateway) have.routes.add(routeLine(r));
  }
  if (kinds.includes('neigh')) for (const n of await readNeighbors(cluster, host, VXLAN_DEV, 4)) have.neigh.add(n);
  if (kinds.includes('fdb')) for (const f of await readFdb(cluster, host, VXLAN_DEV)) have.fdb.add(f.split(' ').slice(0, 3).join(' '));
  return have;
}

export function compare(want: Record<DriftKind, Set<string>>, have: Record<DriftKind, Set<string>>): Drift {
  const byKind = {} as Record<DriftKind, { missing: number; extra: number }>;
  const sample: string[] = [];
  let missing = 0;
  let extra = 0;
  for (const k of DRIFT_KINDS) {
    const miss = [...want[k]].filter((l) => !have[k].has(l));
    const ext = [...have[k]].filter((l) => !want[k].has(l));
    byKind[k] = { missing: miss.length, extra: ext.length };
    missing += miss.length;
    extra += ext.length;
    for (const l of miss.slice(0, 2)) sample.push(`missing ${k}: ${l}`);
    for (const l of ext.slice(0, 2)) sample.push(`extra ${k}: ${l}`);
  }
  return { missing, extra, byKind, sample };
}
