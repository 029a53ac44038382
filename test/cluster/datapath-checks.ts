/**
 * What flannel's data path looks like on each host, built from the hosts' own facts (subnet.env,
 * device MACs, underlay addresses), and checks that compare it with what the kernel holds and
 * what etcd holds (Go flannel's exact lease values).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { PollTimeoutError } from '../support/errors.js';
import { poll } from '../support/poll.js';
import { parseSubnetEnv, type Agent } from './agent.js';
import type { Cluster } from './harness.js';
import { addPod, type Pod } from './pods.js';
import { readFdb, readLink, readNeighbors, readRoutes, routeLine, type Family } from './kernel-state.js';

export type Mode = 'v4' | 'v6' | 'dual';

export interface DatapathSpec {
  readonly backend: 'vxlan' | 'host-gw';
  readonly directRouting?: boolean;
  readonly mode: Mode;
}

export const NETWORK_V4 = '10.5.0.0/16';
export const NETWORK_V6 = 'fc00:5::/48';
export const SUBNETS_PREFIX = '/coreos.com/network/subnets/';
const CLUSTER_NETS = [IPNetwork.parse(NETWORK_V4), IPNetwork.parse(NETWORK_V6)];

export function families(mode: Mode): Family[] {
  return mode === 'v4' ? [4] : mode === 'v6' ? [6] : [4, 6];
}

export function describeSpec(spec: DatapathSpec): string {
  const b = spec.backend === 'vxlan' && spec.directRouting ? 'vxlan+DirectRouting' : spec.backend;
  return `${b} ${spec.mode === 'v4' ? 'IPv4' : spec.mode === 'v6' ? 'IPv6-only' : 'dual-stack'}`;
}

/** The etcd network config for a spec. */
export function networkConfig(spec: DatapathSpec, backendExtra: Record<string, unknown> = {}): Record<string, unknown> {
  const backend: Record<string, unknown> = { Type: spec.backend, ...backendExtra };
  if (spec.directRouting) backend.DirectRouting = true;
  const cfg: Record<string, unknown> = { Backend: backend };
  if (spec.mode !== 'v6') cfg.Network = NETWORK_V4;
  if (spec.mode !== 'v4') Object.assign(cfg, { EnableIPv6: true, IPv6Network: NETWORK_V6 });
  if (spec.mode === 'v6') cfg.EnableIPv4 = false;
  return cfg;
}

export function vxlanDevice(family: Family, vni = 1): string {
  return family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`;
}

/** Waits until the agent wrote a subnet.env holding the subnet of every family of `mode`. */
export function waitForSubnetEnv(agent: Agent, mode: Mode, timeoutMs = 10_000): Promise<Record<string, string>> {
  return poll(
    async () => {
      if (!agent.running) {
        const tail = (await agent.readLog()).trimEnd().split('\n').slice(-15).join('\n');
        throw new Error(`agent on host ${agent.host} exited (code ${agent.exitCode}) before writing ${agent.subnetFile}; log:\n${tail}`);
      }
      const env = parseSubnetEnv(await readFile(agent.subnetFile, 'utf8').catch(() => ''));
      const ok = env.FLANNEL_MTU !== undefined && families(mode).every((f) => (f === 4 ? env.FLANNEL_SUBNET : env.FLANNEL_IPV6_SUBNET));
      return ok ? env : undefined;
    },
    { what: `subnet.env of host ${agent.host}`, timeoutMs },
  );
}

/** What one host contributes to everyone's data path. */
export interface HostFacts {
  readonly host: number;
  readonly net4: IPNetwork | undefined;
  readonly net6: IPNetwork | undefined;
  readonly pub4: string | undefined;
  readonly pub6: string | undefined;
  /** VTEP MACs (vxlan only). */
  readonly mac4: string | undefined;
  readonly mac6: string | undefined;
}

export async function hostFacts(cluster: Cluster, host: number, spec: DatapathSpec, env: Readonly<Record<string, string>>): Promise<HostFacts> {
  const fams = families(spec.mode);
  const mac = async (f: Family) => {
    if (spec.backend !== 'vxlan' || !fams.includes(f)) return undefined;
    const link = await readLink(cluster, host, vxlanDevice(f));
    assert.ok(link, `host ${host} has ${vxlanDevice(f)}`);
    return link.address;
  };
  return {
    host,
    net4: fams.includes(4) && env.FLANNEL_SUBNET ? IPNetwork.parse(env.FLANNEL_SUBNET) : undefined,
    net6: fams.includes(6) && env.FLANNEL_IPV6_SUBNET ? IPNetwork.parse(env.FLANNEL_IPV6_SUBNET) : undefined,
    pub4: fams.includes(4) ? cluster.hostAddress(host) : undefined,
    pub6: fams.includes(6) ? cluster.hostAddress6(host) : undefined,
    mac4: await mac(4),
    mac6: await mac(6),
  };
}

/** The data-path entries of one host, as sorted `ip`-style lines. */
export interface HostState {
  readonly routes: string[];
  readonly neighbors: string[];
  readonly fdb: string[];
}

function inCluster(dst: string): boolean {
  if (dst === 'default' || !dst.includes('/')) return false;
  const net = IPNetwork.parse(dst);
  return CLUSTER_NETS.some((c) => c.covers(net));
}

/**
 * The host's routes into the cluster network that have a gateway, every route on the vxlan
 * devices (except link-local and those the kernel added for an address: proto kernel, such as
 * the /128 on flannel-v6.1), and the neighbour and FDB entries on the vxlan devices.
 */
export async function readHostState(cluster: Cluster, host: number, spec: DatapathSpec): Promise<HostState> {
  const routes = new Set<string>();
  const neighbors: string[] = [];
  const fdb: string[] = [];
  for (const f of families(spec.mode)) {
    const dev = vxlanDevice(f);
    for (const r of await readRoutes(cluster, host, f)) {
      const onVxlan = spec.backend === 'vxlan' && r.dev === dev && !r.dst.startsWith('fe80:') && r.protocol !== 'kernel';
      if ((r.gateway && inCluster(r.dst)) || onVxlan) routes.add(routeLine(r));
    }
    if (spec.backend === 'vxlan' && (await readLink(cluster, host, dev))) {
      neighbors.push(...(await readNeighbors(cluster, host, dev, f)));
      fdb.push(...(await readFdb(cluster, host, dev)));
    }
  }
  return { routes: [...routes].sort(), neighbors: neighbors.sort(), fdb: fdb.sort() };
}

/** flannel's entries on `self` for `peers`: vxlan routes/neighbours/FDB, or direct routes (host-gw, DirectRouting). */
export function expectedHostState(cluster: Cluster, spec: DatapathSpec, self: number, peers: readonly HostFacts[]): HostState {
  const routes: string[] = [];
  const neighbors: string[] = [];
  const fdb: string[] = [];
  const direct = spec.backend === 'host-gw' || Boolean(spec.directRouting);
  for (const p of peers) {
    if (p.host === self) continue;
    for (const f of families(spec.mode)) {
      const net = f === 4 ? p.net4 : p.net6;
      const pub = f === 4 ? p.pub4 : p.pub6;
      const mac = f === 4 ? p.mac4 : p.mac6;
      assert.ok(net && pub, `facts of host ${p.host} for IPv${f}`);
      if (direct) {
        routes.push(`${net.toString()} via ${pub} dev ${cluster.hostIface(self)}`);
        continue;
      }
      assert.ok(mac, `VtepMAC of host ${p.host} for IPv${f}`);
      routes.push(`${net.toString()} via ${net.ip.toString()} dev ${vxlanDevice(f)} onlink`);
      neighbors.push(`${net.ip.toString()} lladdr ${mac} PERMANENT`);
      fdb.push(`${mac} dst ${pub} self permanent`);
    }
  }
  return { routes: routes.sort(), neighbors: neighbors.sort(), fdb: fdb.sort() };
}

/** Polls until the host's state equals `want` (bounded); on timeout fails with a diff. */
export async function waitForHostState(cluster: Cluster, host: number, spec: DatapathSpec, want: HostState, timeoutMs = 5000): Promise<void> {
  let last: HostState | undefined;
  try {
    await poll(
      async () => {
        last = await readHostState(cluster, host, spec);
        try {
          assert.deepEqual(last, want);
          return true;
        } catch {
          return false;
        }
      },
      { what: `host ${host} data path to converge`, timeoutMs, intervalMs: 50, signal: cluster.signal },
    );
  } catch (err) {
    if (!(err instanceof PollTimeoutError)) throw err;
    assert.deepEqual(last ?? (await readHostState(cluster, host, spec)), want, `host ${host}: data path after ${timeoutMs} ms`);
  }
}

/** The etcd key of a host's lease, as Go flannel makes it (IPv6-only: `0.0.0.0-0&<v6>-<len>`). */
export function leaseKeyOf(f: HostFacts): string {
  const v4 = f.net4 ? `${f.net4.ip.toString()}-${f.net4.prefixLength}` : '0.0.0.0-0';
  return `${SUBNETS_PREFIX}${f.net6 ? `${v4}&${f.net6.ip.toString()}-${f.net6.prefixLength}` : v4}`;
}

/** The lease value Go flannel writes for a host, byte for byte. */
export function expectedLeaseValue(spec: DatapathSpec, f: HostFacts): string {
  let s = `{"PublicIP":"${f.pub4 ?? '0.0.0.0'}","PublicIPv6":${f.pub6 ? `"${f.pub6}"` : 'null'},"BackendType":"${spec.backend}"`;
  if (spec.backend === 'vxlan') {
    if (f.mac4) s += `,"BackendData":{"VNI":1,"VtepMAC":"${f.mac4}"}`;
    if (f.mac6) s += `,"BackendV6Data":{"VNI":1,"VtepMAC":"${f.mac6}"}`;
  }
  return `${s}}`;
}

/** Every lease in etcd: key -> value. Equivalent to: `etcdctl get --prefix /coreos.com/network/subnets/`. */
export async function readLeases(cluster: Cluster): Promise<Map<string, string>> {
  const out = await cluster.etcdctl(['get', '--prefix', SUBNETS_PREFIX]);
  const lines = out.split('\n').filter((l) => l !== '');
  const leases = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) leases.set(lines[i] ?? '', lines[i + 1] ?? '');
  return leases;
}

/** Deletes a host's lease key; returns how many keys went (1 when it existed). */
export async function deleteLease(cluster: Cluster, f: HostFacts): Promise<number> {
  return Number((await cluster.etcdctl(['del', leaseKeyOf(f)])).trim());
}

/** What a suite keeps of its hosts: the agents, one pod each, and the facts the checks compare. */
export interface StartedHosts {
  readonly agents: Agent[];
  readonly pods: Pod[];
  readonly facts: HostFacts[];
}

/**
 * Starts the agent of each host in turn (IPv4), waits for its subnet.env, adds a pod `pod<i>` and
 * reads the host's facts, appending each to `into`: the set-up the single-family backend suites share.
 */
export async function startHostsWithPods(cluster: Cluster, hosts: readonly number[], spec: DatapathSpec, into: StartedHosts): Promise<void> {
  for (const i of hosts) {
    const a = cluster.startAgent(i);
    into.agents.push(a);
    const env = await waitForSubnetEnv(a, 'v4');
    into.pods.push(await addPod(cluster, i, `pod${i}`, env));
    into.facts.push(await hostFacts(cluster, i, spec, env));
  }
}
