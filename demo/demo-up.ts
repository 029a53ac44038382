/**
 * `demo up`: a real etcd and three namespace hosts (the test harness), the network config,
 * flanneld in every host, a table of their leases, two pods per host attached through the
 * flannel CNI plugin and a cross-host ping matrix; then it waits until it is told to stop
 * (Ctrl-C, SIGTERM from `demo down`) and tears everything down. Says what it does as it goes.
 */
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { untilAborted } from '../src/async/abortable-sleep.js';
import { IPNetwork } from '../src/ip/ip-network.js';
import { parseSubnetKey } from '../src/lease/lease.js';
import { EtcdHttpClient } from '../src/subnet/etcd/etcd-http-client.js';
import { ETCD_URL, NETWORK_CONFIG_KEY, createCluster, type Agent, type Cluster } from '../test/cluster/harness.js';
import { listNetns, processStartTime } from '../test/support/netns.js';
import { cleanLeftovers, type Say } from './demo-down.js';
import { ownerAlive, readState, removeState, removeStateDir, writeState, type DemoHost, type DemoState } from './demo-state.js';
import { attachDemoPods, PODS_PER_HOST, showPods } from './demo-pods.js';
import { formatLeaseTable } from './lease-table.js';

export const HOSTS = 3;
export const NETWORK = '10.244.0.0/16';
const SUBNETS_PREFIX = '/coreos.com/network/subnets/';
const SUBNET_FILE_TIMEOUT_MS = 30_000;

export interface UpOptions {
  readonly backend: string;
  readonly detached: boolean;
}

/**
 * Refuses when a live demo is recorded; cleans up after a dead one. Returns false when another
 * demo runs.
 */
export async function checkNoDemo(say: Say): Promise<boolean> {
  const existing = await readState();
  if (!existing || existing.pid === process.pid) return true;
  if (ownerAlive(existing)) {
    say(`a demo is already running (pid ${existing.pid}${existing.prefix ? `, namespaces ${existing.prefix}*` : ''}); tear it down first: sudo ./scripts/demo.sh down`);
    return false;
  }
  say(`an earlier demo (pid ${existing.pid}) died without tearing down; cleaning up after it`);
  await cleanLeftovers(existing, say);
  await removeState();
  return true;
}

/** Brings the demo up, waits for `signal`, tears down. Resolves to the exit code. */
export async function demoUp(opts: UpOptions, say: Say, signal: AbortSignal): Promise<number> {
  if (!(await checkNoDemo(say))) return 1;
  const t0 = performance.now();
  const state: DemoState = { pid: process.pid, startTime: processStartTime(process.pid), detached: opts.detached, backend: opts.backend, status: 'starting' };
  await writeState(state);
  let cluster: Cluster | undefined;
  let code = 0;
  try {
    say(`creating an underlay bridge, an etcd namespace and ${HOSTS} host namespaces, and starting etcd`);
    cluster = await createCluster({ hosts: HOSTS, keepTmpDir: true, signal });
    const c = cluster;
    state.prefix = c.prefix;
    state.tmpDir = c.tmpDir;
    state.namespaces = [c.underlayNs, c.etcdNs, ...hostNumbers().map((i) => c.hostNs(i))];
    const etcdPid = c.etcd.pid;
    state.processes = etcdPid === undefined ? [] : [{ pid: etcdPid, startTime: processStartTime(etcdPid), what: 'etcd' }];
    await writeState(state);
    say(`etcd is up at ${ETCD_URL} in namespace ${c.etcdNs}; hosts are ${state.namespaces.slice(2).join(', ')} on bridge ${c.bridge}`);

    const config = { Network: NETWORK, Backend: { Type: opts.backend } };
    say(`writing the network config to ${NETWORK_CONFIG_KEY}: ${JSON.stringify(config)}`);
    await c.putConfig(config);

    const agents: Agent[] = [];
    for (const i of hostNumbers()) {
      say(`starting flanneld -ip-masq on host ${i} (namespace ${c.hostNs(i)}, underlay address ${c.hostAddress(i)})`);
      agents.push(c.startAgent(i, { args: ['-ip-masq'] }));
    }
    state.processes.push(...agents.map((a) => ({ pid: a.pid, startTime: processStartTime(a.pid), what: `flanneld on host ${a.host}` })));
    await writeState(state);

    say('waiting for every flanneld to take a lease and write its subnet.env');
    const envs = await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: SUBNET_FILE_TIMEOUT_MS, signal })));
    state.hosts = await leaseRows(c, agents, envs, say, signal);
    await writeState(state);
    say(`every host holds a lease. Leases in etcd under ${SUBNETS_PREFIX}, MTU from each host's subnet.env:`);
    process.stdout.write('\n' + formatLeaseTable(state.hosts) + '\n');

    say(`attaching ${PODS_PER_HOST} pods per host through the flannel CNI plugin: bin/flannel ADD in the host's namespace, delegating to bridge (cni0) and host-local`);
    const pods = await attachDemoPods(c, hostNumbers(), say, async (pod) => {
      state.namespaces?.push(pod.ns);
      await writeState(state);
    });
    await showPods(pods, opts.backend, say, signal);
    state.status = 'ready';
    await writeState(state);

    say(`up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    say(`enter a pod: sudo ip netns exec ${pods[0]?.ns ?? '<pod namespace>'} ping ${pods[pods.length - 1]?.v4?.ip ?? '<address>'}`);
    say(`subnet.env and flanneld.log of host N are in ${c.tmpDir}/hN/, the CNI plugin's state in ${c.tmpDir}/hN/cni/`);
    say(`look at etcd: sudo ip netns exec ${c.etcdNs} etcdctl --endpoints=${ETCD_URL} get --prefix ${SUBNETS_PREFIX}`);
    say(opts.detached ? 'running in the background; tear down with: sudo ./scripts/demo.sh down' : 'running; press Ctrl-C to tear down');
    await watchAgents(agents, say, signal);
  } catch (err) {
    if (!signal.aborted) {
      code = 1;
      state.status = 'failed';
      state.error = err instanceof Error ? err.message : String(err);
      say(`bring-up failed: ${state.error}`);
    }
  } finally {
    code = (await tearDown(cluster, state, say)) ? code : 1;
  }
  return code;
}

function hostNumbers(): number[] {
  return Array.from({ length: HOSTS }, (_, k) => k + 1);
}

/** The table rows: each host's lease as etcd holds it, its MTU from subnet.env. */
async function leaseRows(c: Cluster, agents: readonly Agent[], envs: readonly Record<string, string>[], say: Say, signal: AbortSignal): Promise<DemoHost[]> {
  const client = new EtcdHttpClient({ endpoints: [c.etcd.unixEndpoint] });
  let kvs;
  try {
    ({ kvs } = await client.rangePrefix(SUBNETS_PREFIX, { signal }));
  } finally {
    client.close();
  }
  const byIP = new Map<string, string>();
  for (const kv of kvs) {
    const ip = (JSON.parse(kv.value) as { PublicIP?: string }).PublicIP;
    const subnet = parseSubnetKey(kv.key.slice(SUBNETS_PREFIX.length))?.subnet?.toString();
    if (ip !== undefined && subnet !== undefined) byIP.set(ip, subnet);
  }
  return agents.map((a, k) => {
    const ip = c.hostAddress(a.host);
    const env = envs[k] ?? {};
    const subnet = byIP.get(ip) ?? '(no lease in etcd)';
    const fileSubnet = env.FLANNEL_SUBNET ?? '';
    if (!sameSubnet(fileSubnet, subnet)) say(`warning: host ${a.host}'s subnet.env says FLANNEL_SUBNET=${fileSubnet} but its lease in etcd is ${subnet}`);
    return { host: a.host, ns: a.ns, publicIP: ip, subnet, mtu: env.FLANNEL_MTU ?? '?', subnetFile: a.subnetFile, logFile: a.logFile };
  });
}

/** FLANNEL_SUBNET (first host address/len) against the lease's subnet (network address/len). */
function sameSubnet(fileSubnet: string, leaseSubnet: string): boolean {
  try {
    return IPNetwork.parse(fileSubnet).equals(IPNetwork.parse(leaseSubnet));
  } catch {
    return false;
  }
}

/** Waits for the signal; says so when an agent exits on its own meanwhile. */
async function watchAgents(agents: readonly Agent[], say: Say, signal: AbortSignal): Promise<void> {
  const reported = new Set<number>();
  const timer = setInterval(() => {
    if (signal.aborted) return;
    for (const a of agents) {
      if (a.running || reported.has(a.host)) continue;
      reported.add(a.host);
      say(`flanneld on host ${a.host} exited with code ${a.exitCode}; see ${a.logFile}`);
    }
  }, 1000);
  try {
    await untilAborted(signal);
  } finally {
    clearInterval(timer);
  }
}

/** Stops everything and removes the temp dir and state. True when nothing is left behind. */
async function tearDown(cluster: Cluster | undefined, state: DemoState, say: Say): Promise<boolean> {
  state.status = 'stopping';
  await writeState(state).catch(() => {});
  say('tearing down: stopping flanneld and etcd, deleting the namespaces');
  let ok = true;
  try {
    await cluster?.destroy();
  } catch (err) {
    ok = false;
    say(`teardown: ${err instanceof Error ? err.message : String(err)}; removing what is left`);
    await cleanLeftovers(state, say).catch((e: unknown) => say(`cleanup: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (cluster) await rm(cluster.tmpDir, { recursive: true, force: true });
  await removeState();
  await removeStateDir();
  const prefix = state.prefix;
  const left = prefix === undefined ? [] : (await listNetns()).filter((ns) => ns.startsWith(prefix));
  if (left.length > 0) {
    say(`left behind: ${left.join(', ')}`);
    return false;
  }
  say(ok ? 'torn down; nothing left behind' : 'torn down after errors; no namespaces left');
  return ok;
}
