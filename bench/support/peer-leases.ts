/**
 * Made-up remote leases for scale scenarios, as Go flannel would have written them, and their
 * bulk load into the cluster's etcd (all bound to one etcd lease, so that one revoke removes
 * them all in one revision).
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { bulkPut, type BulkEntry } from './etcd-gateway.js';

export type PeerBackend = 'vxlan' | 'host-gw';

export const SUBNETS_PREFIX = '/coreos.com/network/subnets/';
/** The cluster network of the scale scenarios: room for 5,000 /24s and the agent's own. */
export const SCALE_NETWORK = '10.0.0.0/8';
/**
 * Underlay prefix length the scale scenarios ask of the harness: peers' public IPs
 * 192.168.100.0 .. 192.168.119.255 must be on-link for host-gw to program them.
 */
export const SCALE_UNDERLAY_PREFIX = 16;

export function scaleConfig(backend: PeerBackend): unknown {
  return { Network: SCALE_NETWORK, Backend: { Type: backend } };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/**
 * Lease i (1-based): subnet 10.<i>>8>.<i&255>.0/24, public IP 192.168.<100 + i>>8>.<i&255>,
 * for vxlan a unique locally administered VtepMAC 0a:fe:00:00:<hi>:<lo>.
 */
export function peerLease(i: number, backend: PeerBackend): BulkEntry {
  const subnet = `10.${(i >> 8) & 255}.${i & 255}.0-24`;
  const publicIP = `192.168.${100 + (i >> 8)}.${i & 255}`;
  const value =
    backend === 'vxlan'
      ? { PublicIP: publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `0a:fe:00:00:${hex((i >> 8) & 255)}:${hex(i & 255)}` } }
      : { PublicIP: publicIP, PublicIPv6: null, BackendType: 'host-gw' };
  return { key: `${SUBNETS_PREFIX}${subnet}`, value: JSON.stringify(value) };
}

export function peerLeases(count: number, backend: PeerBackend): BulkEntry[] {
  if (!Number.isInteger(count) || count < 1 || count > 40_000) throw new RangeError(`peer lease count ${count}: want 1..40000`);
  return Array.from({ length: count }, (_, k) => peerLease(k + 1, backend));
}

export interface LoadedLeases {
  /** The etcd lease every key is bound to (revoke it to remove them all at once). */
  readonly etcdLease: string;
  readonly loadMs: number;
  readonly txns: number;
}

/** Grants one etcd lease (1 h), bulk-puts the entries under it and checks that all are there. */
export async function loadLeases(cluster: Cluster, entries: readonly BulkEntry[], signal: AbortSignal): Promise<LoadedLeases> {
  const client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  try {
    const lease = await client.grantLease(3600, { signal });
    const t = Date.now();
    const txns = await bulkPut(cluster.etcd.socketPath, entries, lease.id, { signal });
    const loadMs = Date.now() - t;
    const { kvs } = await client.rangePrefix(SUBNETS_PREFIX, { signal });
    if (kvs.length !== entries.length) throw new Error(`bulk load: ${kvs.length} leases in etcd, want ${entries.length}`);
    return { etcdLease: lease.id, loadMs, txns };
  } finally {
    client.close();
  }
}
