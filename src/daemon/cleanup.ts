import { readFile, unlink } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import { IPNetwork } from '../ip/ip-network.js';
import type { KernelOps } from '../kernel/kernel-ops.js';
import type { Logger } from '../log/logger.js';
import { parseEnvText } from '../subnet/subnet-env.js';

/** flannel's vxlan device names: flannel.<VNI> and flannel-v6.<VNI>. */
export const FLANNEL_DEVICE_RE = /^flannel(-v6)?\.\d+$/;
/** flannel's WireGuard devices: kernel links, or wireguard-go's TUN devices (deleting one ends its wireguard-go). */
export const FLANNEL_WG_DEVICE_RE = /^flannel-wg(-v6)?$/;
/** flannel's ipip tunnel. */
export const FLANNEL_IPIP_DEVICE = 'flannel.ipip';
/** The udp backend's TUN device (it goes with its agent; one held by a live agent is deleted too). */
export const FLANNEL_UDP_DEVICE_RE = /^flannel\d+$/;

export interface CleanupDeps {
  readonly kernel: KernelOps;
  /** Removes masquerade/forward rules of both modes (iptables and nftables). */
  readonly cleanupTraffic: (signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

/**
 * `flanneld -cleanup`: removes what flannel-ts made on this host: the vxlan, WireGuard, ipip and udp (TUN) devices (and with
 * them their routes, neighbour and FDB entries), routes into the cluster network via a gateway
 * (host-gw, DirectRouting), the masquerade/forward rules, and subnet.env. The cluster networks
 * are read from subnet.env; without it only devices and rules are removed. The etcd lease is
 * not touched (it expires). Returns the number of failures.
 */
export async function runCleanup(subnetFile: string, deps: CleanupDeps, signal: AbortSignal): Promise<number> {
  const log = deps.logger;
  let failures = 0;
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      failures++;
      log.error(`cleanup: ${what}: ${errorMessage(err)}`);
    }
  };
  const networks = await clusterNetworks(subnetFile);
  if (networks.length === 0) log.warn(`cleanup: no cluster network known (${subnetFile} missing); leaving routes alone`);

  await attempt('routes', async () => {
    const routes = (await deps.kernel.listRoutes({}, { signal })).filter(
      (r) => r.gateway !== undefined && networks.some((n) => n.covers(r.dst)),
    );
    await deps.kernel.deleteRoutes(routes, { signal });
    log.info(`cleanup: removed ${routes.length} routes into ${networks.map(String).join(', ') || 'the cluster network'}`);
  });
  await attempt('devices', async () => {
    for (const link of await deps.kernel.listLinks({ signal })) {
      const wg = (link.kind === 'wireguard' || link.kind === 'tun') && FLANNEL_WG_DEVICE_RE.test(link.name);
      const ipip = link.kind === 'ipip' && link.name === FLANNEL_IPIP_DEVICE;
      const udp = link.kind === 'tun' && FLANNEL_UDP_DEVICE_RE.test(link.name);
      if ((link.kind === 'vxlan' && FLANNEL_DEVICE_RE.test(link.name)) || wg || ipip || udp) {
        await deps.kernel.deleteLink(link.name, { signal });
        log.info(`cleanup: deleted device ${link.name}`);
      }
    }
  });
  await attempt('rules', async () => {
    await deps.cleanupTraffic(signal);
    log.info('cleanup: removed masquerade and forward rules');
  });
  await attempt(subnetFile, async () => {
    await unlink(subnetFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  });
  return failures;
}

async function clusterNetworks(subnetFile: string): Promise<IPNetwork[]> {
  const text = await readFile(subnetFile, 'utf8').catch(() => '');
  const vars = parseEnvText(text);
  const out: IPNetwork[] = [];
  for (const name of ['FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK']) {
    const v = vars.get(name);
    if (!v) continue;
    try {
      out.push(IPNetwork.parse(v));
    } catch {
      // not a network: nothing to clean for it
    }
  }
  return out;
}
