/**
 * Checks shared by the agent integration tests: what an agent logged about remote leases, what
 * etcd holds under the subnets prefix, resetting leases between rounds, and HTTP probes from
 * inside a host namespace.
 */
import { rm } from 'node:fs/promises';
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { KeyValue } from '../../src/subnet/etcd/etcd-types.js';
import { poll } from '../support/poll.js';
import type { WaitOptions } from './agent.js';
import type { Agent, Cluster } from './harness.js';

export const SUBNETS_PREFIX = '/coreos.com/network/subnets/';

/** One `leases: N added, M removed, K remote leases now` line of an agent's log. */
export interface LeaseBatchLine {
  added: number;
  removed: number;
  remote: number;
}

const BATCH_RE = /leases: (\d+) added, (\d+) removed, (\d+) remote leases now/g;

export function leaseBatchLines(log: string): LeaseBatchLine[] {
  return [...log.matchAll(BATCH_RE)].map((m) => ({ added: Number(m[1]), removed: Number(m[2]), remote: Number(m[3]) }));
}

/** The remote-lease count the agent reported last (0 before its first batch). */
export function lastRemoteCount(log: string): number {
  return leaseBatchLines(log).at(-1)?.remote ?? 0;
}

/** Waits until the agent's latest lease batch line reports exactly `n` remote leases. */
export async function waitForRemoteLeases(agent: Agent, n: number, opts: WaitOptions = {}): Promise<void> {
  let last = 0;
  await poll(
    async () => {
      if (!agent.running) throw new Error(`agent on host ${agent.host} exited (code ${agent.exitCode}) while waiting for ${n} remote leases`);
      last = lastRemoteCount(await agent.readLog());
      return last === n;
    },
    { what: `host ${agent.host} to report ${n} remote leases (last reported: ${last})`, timeoutMs: opts.timeoutMs ?? 10_000, signal: opts.signal },
  );
}

/** Checks, every 200 ms for `ms`, that the agent keeps running (the same process, no exit). */
export async function assertStaysUp(agent: Agent, ms: number, why: string): Promise<void> {
  const t0 = Date.now();
  await poll(
    () => {
      if (!agent.running) throw new Error(`agent on host ${agent.host} exited (code ${agent.exitCode}) ${Date.now() - t0} ms into ${why}`);
      return Date.now() - t0 >= ms;
    },
    { what: `${ms} ms of ${why}`, timeoutMs: ms + 2000, intervalMs: 200 },
  );
}

/** The subnet (network address and length) of subnet.env's FLANNEL_SUBNET, e.g. 10.5.3.1/24 → 10.5.3.0/24 (IPv4). */
export function subnetOf(flannelSubnet: string | undefined): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(flannelSubnet ?? '');
  if (!m) throw new Error(`FLANNEL_SUBNET ${JSON.stringify(flannelSubnet)} is not an IPv4 address/len`);
  const len = Number(m[5]);
  const n = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len);
  const net = Number(BigInt(n) & BigInt(mask));
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${len}`;
}

/** The etcd key Go flannel uses for an IPv4 subnet ('10.5.3.0/24' → '<prefix>/subnets/10.5.3.0-24'). */
export function subnetKey(subnet: string): string {
  return SUBNETS_PREFIX + subnet.replace('/', '-');
}

/** The value Go flannel writes for the alloc backend, byte for byte. */
export function allocValue(publicIP: string): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null}`;
}

/** An etcd client for the test process (root namespace), over the cluster etcd's unix socket. */
export function etcdClient(cluster: Cluster): EtcdHttpClient {
  return new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
}

/** Every key under the subnets prefix. */
export async function listSubnetKeys(kv: EtcdHttpClient): Promise<KeyValue[]> {
  return (await kv.rangePrefix(SUBNETS_PREFIX, {})).kvs;
}

/** Subnet keys as `etcdctl get -w json` shows them (key and value decoded; lease 0 when absent). */
export interface EtcdctlKv {
  key: string;
  value: string;
  createRevision: number;
  lease: number;
}

export async function etcdctlSubnets(cluster: Cluster): Promise<EtcdctlKv[]> {
  const out = JSON.parse(await cluster.etcdctl(['get', '--prefix', SUBNETS_PREFIX, '-w', 'json'])) as {
    kvs?: Array<{ key: string; value: string; create_revision: number; lease?: number }>;
  };
  const dec = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return (out.kvs ?? []).map((kv) => ({ key: dec(kv.key), value: dec(kv.value), createRevision: kv.create_revision, lease: kv.lease ?? 0 }));
}

/** Stops the agents (SIGTERM), deletes every subnet key and the hosts' subnet.env files. */
export async function resetLeases(cluster: Cluster, agents: readonly Agent[], hosts: readonly number[]): Promise<void> {
  await Promise.all(agents.map((a) => a.stop()));
  await cluster.etcdctl(['del', '--prefix', SUBNETS_PREFIX]);
  await Promise.all(hosts.map((i) => rm(`${cluster.hostDir(i)}/subnet.env`, { force: true })));
}

/** Starts agents on all `hosts` back to back (the same instant, as far as spawn allows). */
export function startAgents(cluster: Cluster, hosts: readonly number[], args: string[] = []): Agent[] {
  return hosts.map((i) => cluster.startAgent(i, { args }));
}

/** HTTP status of GET `url` fetched with curl inside host i's namespace (0 when nothing answers). */
export async function httpStatus(cluster: Cluster, host: number, url: string): Promise<number> {
  const res = await cluster.exec(host, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', url], {
    allowFailure: true,
    timeoutMs: 5000,
  });
  return Number(res.stdout.trim() || '0');
}

/** Counts the lines of `text` matching `re` (a non-global pattern). */
export function countLines(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}

/** The 1-based host numbers 1..n. */
export function hostRange(n: number): number[] {
  return Array.from({ length: n }, (_, k) => k + 1);
}
