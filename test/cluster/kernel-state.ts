/**
 * Reads a host's data-path state through `ip -j` / `bridge -j` (test side only; the product
 * talks rtnetlink) and renders it as short sorted lines in `ip` syntax, so that tests compare
 * it with flannel's expected state and a failure shows a readable diff.
 */
import type { RunOptions } from '../support/command.js';
import type { Cluster } from './harness.js';

export type Family = 4 | 6;

/** `ip -j -d link show` of one device, as far as tests look at it. */
export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly mtu: number;
  readonly address: string;
  readonly flags: readonly string[];
  readonly kind: string | undefined;
  /** linkinfo.info_data (for vxlan: id, local / local6, link, port, learning, ...). */
  readonly data: Readonly<Record<string, unknown>>;
}

interface LinkJson {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

async function ipJson<T>(cluster: Cluster, host: number, argv: readonly string[], opts: RunOptions = {}): Promise<T[]> {
  const { stdout } = await cluster.exec(host, argv, opts);
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as T[]);
}

/** The device `name` on `host`, or undefined when it does not exist. Equivalent to: `ip -j -d link show dev $name`. */
export async function readLink(cluster: Cluster, host: number, name: string): Promise<LinkInfo | undefined> {
  const all = await ipJson<LinkJson>(cluster, host, ['ip', '-j', '-d', 'link', 'show']);
  const l = all.find((x) => x.ifname === name);
  if (!l) return undefined;
  return {
    ifindex: l.ifindex,
    ifname: l.ifname,
    mtu: l.mtu,
    address: l.address,
    flags: l.flags ?? [],
    kind: l.linkinfo?.info_kind,
    data: l.linkinfo?.info_data ?? {},
  };
}

/** Names of the host's links whose name starts with `prefix`. */
export async function linkNames(cluster: Cluster, host: number, prefix: string): Promise<string[]> {
  const all = await ipJson<LinkJson>(cluster, host, ['ip', '-j', 'link', 'show']);
  return all.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}

/** Global addresses of a device as `addr/len`. Equivalent to: `ip -j -$family addr show dev $dev scope global`. */
export async function readAddresses(cluster: Cluster, host: number, dev: string, family: Family): Promise<string[]> {
  type AddrJson = { addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> };
  const out = await ipJson<AddrJson>(cluster, host, ['ip', '-j', `-${family}`, 'addr', 'show', 'dev', dev]);
  return out
    .flatMap((l) => l.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

export interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
  /** Absent for proto boot (what flannel installs); `kernel` for a route the kernel added. */
  protocol?: string;
}

/** Main-table routes of a family. Equivalent to: `ip -j -$family route show`. */
export function readRoutes(cluster: Cluster, host: number, family: Family): Promise<RouteJson[]> {
  return ipJson<RouteJson>(cluster, host, ['ip', '-j', `-${family}`, 'route', 'show']);
}

/** `<dst> via <gw> dev <dev> [onlink]`, the form tests compare. */
export function routeLine(r: RouteJson): string {
  const via = r.gateway ? ` via ${r.gateway}` : '';
  const onlink = r.flags?.includes('onlink') ? ' onlink' : '';
  return `${r.dst}${via} dev ${r.dev ?? '?'}${onlink}`;
}

/** Neighbour entries of a device as `<ip> lladdr <mac> <STATE>`. Equivalent to: `ip -j -$family neigh show dev $dev`. */
export async function readNeighbors(cluster: Cluster, host: number, dev: string, family: Family): Promise<string[]> {
  type NeighJson = { dst: string; lladdr?: string; state?: string[] };
  const out = await ipJson<NeighJson>(cluster, host, ['ip', '-j', `-${family}`, 'neigh', 'show', 'dev', dev]);
  return out.map((n) => `${n.dst} lladdr ${n.lladdr ?? '-'} ${(n.state ?? []).join(',')}`).sort();
}

/** FDB entries of a device that have a destination, as `<mac> dst <ip> <flags> <state>`. Equivalent to: `bridge -j fdb show dev $dev`. */
export async function readFdb(cluster: Cluster, host: number, dev: string): Promise<string[]> {
  type FdbJson = { mac: string; dst?: string; flags?: string[]; state?: string };
  const out = await ipJson<FdbJson>(cluster, host, ['bridge', '-j', 'fdb', 'show', 'dev', dev]);
  return out
    .filter((f) => f.dst !== undefined)
    .map((f) => `${f.mac} dst ${f.dst} ${(f.flags ?? []).join(',')} ${f.state ?? ''}`.trimEnd())
    .sort();
}
