import type { IPNetwork } from '../../ip/ip-network.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { Route } from '../../kernel/route.js';
import type { Lease } from '../../lease/lease.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { isOnLink, onLinkPrefixes } from '../on-link.js';
import { insideAny, isPeerRoute, type PeerEntries } from '../peer-entries.js';
import { PeerNetwork, type DataPath } from '../peer-network.js';

/** The host-gw backend: a plain route to each peer's subnet via its public IP (all hosts on one L2 network). */
export class HostGwBackend implements Backend {
  readonly type = 'host-gw';
  readonly usesKernel = true;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const kernel = ctx.kernel();
    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const lease = await ctx.acquireLease(
      {
        publicIP: ctx.extIface.extAddr,
        publicIPv6: ctx.extIface.extV6Addr,
        backendType: 'host-gw',
        backendData: undefined,
        backendV6Data: undefined,
      },
      signal,
    );
    const dataPath = new HostGwDataPath(kernel, ext, lease, [ctx.config.network, ctx.config.ipv6Network]);
    await dataPath.ensureDevices(signal);
    const peers = new PeerNetwork({ kernel, dataPath, logger: ctx.logger, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
    return { lease, mtu: ext.mtu, run: (events, runSignal) => peers.run(events, runSignal) };
  }
}

class HostGwDataPath implements DataPath {
  private onLink: IPNetwork[] = [];

  constructor(
    private readonly kernel: KernelOps,
    private ext: Link,
    private readonly own: Lease,
    private readonly clusterNets: readonly (IPNetwork | undefined)[],
  ) {}

  async ensureDevices(signal: AbortSignal): Promise<void> {
    this.ext = await this.kernel.linkByIndex(this.ext.index, { signal });
    this.onLink = await onLinkPrefixes(this.kernel, this.ext.index, signal);
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    if (lease.attrs.backendType !== 'host-gw') return { skip: `backend type ${lease.attrs.backendType ?? '(none)'} is not host-gw` };
    const routes: Route[] = [];
    for (const [subnet, gw, fam] of [
      [lease.subnet, lease.attrs.publicIP, 4],
      [lease.ipv6Subnet, lease.attrs.publicIPv6, 6],
    ] as const) {
      if (!subnet || !insideAny(this.clusterNets, subnet)) continue;
      if (!gw) return { skip: `no public IPv${fam} address` };
      if (!isOnLink(this.onLink, gw)) {
        return { skip: `its public IP ${gw.toString()} is not on-link on ${this.ext.name} (host-gw needs every host on one L2 network)` };
      }
      routes.push({ dst: subnet, gateway: gw, linkIndex: this.ext.index });
    }
    return { routes, neighbors: [], fdb: [] };
  }

  async dumpOwned(signal: AbortSignal): Promise<PeerEntries> {
    const ours = isPeerRoute(this.clusterNets, this.own);
    const routes = (await this.kernel.listRoutes({ linkIndex: this.ext.index }, { signal })).filter((r) => r.gateway !== undefined && ours(r));
    return { routes, neighbors: [], fdb: [] };
  }

  concerns(ev: KernelEvent): boolean {
    if (ev.kind !== 'route' || ev.action !== 'delete') return false;
    return ev.route.linkIndex === this.ext.index && insideAny(this.clusterNets, ev.route.dst);
  }
}
