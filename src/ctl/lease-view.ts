/**
 * How flannelctl shows a lease: one table row, one JSON object. Pure functions.
 */
import type { StoreLease } from './ctl-context.js';
import { formatSeconds } from './output.js';

export const LEASE_HEADERS = ['SUBNET', 'IPV6 SUBNET', 'PUBLIC IP', 'PUBLIC IPV6', 'BACKEND', 'BACKEND DATA', 'EXPIRES', 'HOST'] as const;

/** "VNI=1 VtepMAC=5a:9b:..." / "PublicKey=... Port=51820": the backend data's fields, or its JSON. */
export function describeBackendData(data: unknown): string {
  if (data === undefined || data === null) return '';
  if (typeof data !== 'object' || Array.isArray(data)) return JSON.stringify(data);
  return Object.entries(data as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** "23h59m12s", "reserved" (no TTL), "-" (kube: leases do not expire), "gone" (TTL vanished). */
export function describeExpiry(l: StoreLease): string {
  if (l.reserved) return 'reserved';
  if (l.node !== undefined) return '-';
  return l.ttlSeconds === undefined ? 'gone' : formatSeconds(l.ttlSeconds);
}

export function leaseRow(l: StoreLease): string[] {
  const a = l.lease.attrs;
  const v4 = describeBackendData(a.backendData);
  const v6 = describeBackendData(a.backendV6Data);
  const data = v4 !== '' && v6 !== '' ? `${v4} v6: ${v6}` : v4 !== '' ? v4 : v6 !== '' ? `v6: ${v6}` : '-';
  return [
    l.lease.subnet?.toString() ?? '-',
    l.lease.ipv6Subnet?.toString() ?? '-',
    a.publicIP?.toString() ?? '-',
    a.publicIPv6?.toString() ?? '-',
    a.backendType ?? '-',
    data,
    describeExpiry(l),
    l.node ?? l.key,
  ];
}

/** The JSON form of a lease (stable field names for scripts). */
export function leaseJSON(l: StoreLease, nowMs: number): Record<string, unknown> {
  const a = l.lease.attrs;
  return {
    subnet: l.lease.subnet?.toString() ?? null,
    ipv6Subnet: l.lease.ipv6Subnet?.toString() ?? null,
    publicIP: a.publicIP?.toString() ?? null,
    publicIPv6: a.publicIPv6?.toString() ?? null,
    backendType: a.backendType ?? null,
    backendData: a.backendData ?? null,
    backendV6Data: a.backendV6Data ?? null,
    reserved: l.reserved,
    ttlSeconds: l.ttlSeconds ?? null,
    expiresAt: l.ttlSeconds === undefined ? null : new Date(nowMs + l.ttlSeconds * 1000).toISOString(),
    key: l.key,
    ...(l.node !== undefined ? { node: l.node, ready: l.ready ? { status: l.ready.status, since: l.ready.since?.toISOString() ?? null } : null } : { etcdLease: l.storeLeaseId ?? null }),
  };
}

/** Leases in address order: IPv4 subnet, then IPv6 subnet. */
export function sortLeases(leases: readonly StoreLease[]): StoreLease[] {
  const key = (l: StoreLease) => [l.lease.subnet?.ip.value ?? -1n, l.lease.ipv6Subnet?.ip.value ?? -1n] as const;
  return [...leases].sort((x, y) => {
    const [a1, a2] = key(x);
    const [b1, b2] = key(y);
    return a1 !== b1 ? (a1 < b1 ? -1 : 1) : a2 === b2 ? 0 : a2 < b2 ? -1 : 1;
  });
}
