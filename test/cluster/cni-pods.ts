/**
 * Pods attached the way a container runtime attaches them: a namespace of the cluster's run
 * (removed with it), then `bin/flannel` ADD run inside the host's namespace with CNI_NETNS
 * pointing at the pod, delegating to Debian's bridge and host-local (/usr/lib/cni). The host's
 * subnet.env is the one its flanneld writes; the plugin's and host-local's state live in the
 * host's temp dir (<hostdir>/cni/). The result is turned into the same Pod the rest of the
 * cluster tests use (pods.ts), so pod-traffic.ts works on it unchanged.
 */
import { join } from 'node:path';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { run } from '../support/command.js';
import { HarnessError } from '../support/errors.js';
import { flannelCniCommand } from '../support/implementation.js';
import { runIn } from '../support/netns.js';
import { type Cluster } from './harness.js';
import { POD_IFACE, type Pod, type PodAddress } from './pods.js';

export const CNI_BIN_DIR = '/usr/lib/cni';
export const CNI_NETWORK_NAME = 'cbr0';

export interface CniPod extends Pod {
  /** The CNI_CONTAINERID it was added with. */
  readonly containerId: string;
  /** ADD's result document. */
  readonly result: Record<string, unknown>;
}

/** The plugin config for host `hostIndex`, as a runtime would hold it in /etc/cni/net.d. */
export function cniConfig(cluster: Cluster, hostIndex: number, cniVersion = '1.0.0'): Record<string, unknown> {
  const dir = cluster.hostDir(hostIndex);
  return {
    cniVersion,
    name: CNI_NETWORK_NAME,
    type: 'flannel',
    subnetFile: join(dir, 'subnet.env'),
    dataDir: join(dir, 'cni', 'flannel'),
    ipam: { dataDir: join(dir, 'cni', 'networks') },
  };
}

/** Runs bin/flannel `command` in host `hostIndex`'s namespace; resolves to its parsed stdout (or undefined). */
export async function invokeFlannelCni(
  cluster: Cluster,
  hostIndex: number,
  command: string,
  args: { containerId: string; netns: string; conf: Record<string, unknown> },
): Promise<Record<string, unknown> | undefined> {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: args.containerId, CNI_NETNS: args.netns, CNI_IFNAME: POD_IFACE, CNI_PATH: CNI_BIN_DIR };
  const res = await runIn(cluster.hostNs(hostIndex), flannelCniCommand(), { env, input: JSON.stringify(args.conf), allowFailure: true, timeoutMs: 30_000, signal: cluster.signal });
  if (res.exitCode !== 0) {
    throw new HarnessError(`flannel CNI ${command} of ${args.containerId} on host ${hostIndex}: exit ${res.exitCode}: ${res.stdout.trim()} ${res.stderr.trim()}`);
  }
  return res.stdout.trim() === '' ? undefined : (JSON.parse(res.stdout) as Record<string, unknown>);
}

/** Creates pod `name` behind host `hostIndex` and attaches it with the flannel CNI plugin (ADD). */
export async function attachCniPod(cluster: Cluster, hostIndex: number, name: string): Promise<CniPod> {
  const ns = await cluster.createExtraNamespace(name);
  const conf = cniConfig(cluster, hostIndex);
  const result = await invokeFlannelCni(cluster, hostIndex, 'ADD', { containerId: name, netns: `/run/netns/${ns}`, conf });
  if (!result) throw new HarnessError(`flannel CNI ADD of ${name}: no result`);
  const ips = (result.ips ?? []) as { address: string; gateway?: string }[];
  const interfaces = (result.interfaces ?? []) as { name: string; sandbox?: string }[];
  const address = (family: 4 | 6): PodAddress | undefined => {
    const entry = ips.find((i) => IPAddress.tryParse(i.address.split('/')[0] ?? '')?.family === family);
    if (!entry) return undefined;
    const [ip = '', len = ''] = entry.address.split('/');
    const subnet = IPNetwork.parse(entry.address);
    return { ip, gateway: entry.gateway ?? '', subnet: subnet.toString(), prefixLength: Number(len) };
  };
  const { stdout } = await run(['ip', '-j', '-n', ns, 'link', 'show', POD_IFACE]);
  const mtu = (JSON.parse(stdout) as { mtu: number }[])[0]?.mtu ?? 0;
  const signal = cluster.signal;
  return {
    name,
    host: hostIndex,
    ns,
    hostIface: interfaces.find((i) => !i.sandbox && i.name.startsWith('veth'))?.name ?? '',
    mtu,
    v4: address(4),
    v6: address(6),
    exec: (argv, opts = {}) => runIn(ns, argv, { signal, ...opts }),
    containerId: name,
    result,
  };
}

/** CHECK of an attached pod; resolves when it passes. */
export async function checkCniPod(cluster: Cluster, pod: CniPod): Promise<void> {
  await invokeFlannelCni(cluster, pod.host, 'CHECK', { containerId: pod.containerId, netns: `/run/netns/${pod.ns}`, conf: { ...cniConfig(cluster, pod.host), prevResult: pod.result } });
}

/** DEL of an attached pod (its namespace stays until the cluster goes). */
export async function detachCniPod(cluster: Cluster, pod: CniPod): Promise<void> {
  await invokeFlannelCni(cluster, pod.host, 'DEL', { containerId: pod.containerId, netns: `/run/netns/${pod.ns}`, conf: cniConfig(cluster, pod.host) });
}
