import type { IPNetwork } from '../../ip/ip-network.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { Route } from '../../kernel/route.js';
import type { Lease } from '../../lease/lease.js';
import { isOnLink, onLinkPrefixes } from '../on-link.js';
import { insideAny, isPeerRoute, type PeerEntries } from '../peer-entries.js';
import type { DataPath } from '../peer-network.js';
import type { IpipConfig } from './ipip-config.js';

/** The part of IpipDevice the data path needs. */
export interface IpipDeviceHandle {
  readonly index: number;
  ensure(signal?: AbortSignal): Promise<void>;
}

/**
 * flannel's ipip routes, one per peer: `<subnet> via <peer public IP> dev flannel.ipip onlink`
 * (the gateway is the tunnel's far end); with DirectRouting, a peer whose public IP is on-link
 * gets `<subnet> via <peer public IP> dev <iface> onlink` instead (flannel keeps the onlink flag).
 */
export class IpipDataPath implements DataPath {
  private onLink: IPNetwork[] = [];

  constructor(
    private readonly kernel: KernelOps,
    private readonly cfg: IpipConfig,
    private ext: Link,
    private readonly device: IpipDeviceHandle,
    private readonly own: Lease,
    private readonly clusterNets: readonly (IPNetwork | undefined)[],
  ) {}

  async ensureDevices(signal: AbortSignal): Promise<void> {
    await this.device.ensure(signal);
    this.ext = await this.kernel.linkByIndex(this.ext.index, { signal });
    if (this.cfg.directRouting) this.onLink = await onLinkPrefixes(this.kernel, this.ext.index, signal);
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    if (lease.attrs.backendType !== 'ipip') return { skip: `backend type ${lease.attrs.backendType ?? '(none)'} is not ipip` };
    const subnet = lease.subnet;
    if (!subnet) return { skip: 'no IPv4 subnet (the ipip backend carries IPv4 only)' };
    if (!insideAny(this.clusterNets, subnet)) return { skip: `its subnet ${subnet.toString()} is outside the network` };
    const gw = lease.attrs.publicIP;
    if (!gw) return { skip: 'no public IPv4 address' };
    const direct = this.cfg.directRouting && isOnLink(this.onLink, gw);
    const route: Route = { dst: subnet, gateway: gw, linkIndex: direct ? this.ext.index : this.device.index, onlink: true };
    return { routes: [route], neighbors: [], fdb: [] };
  }

  async dumpOwned(signal: AbortSignal): Promise<PeerEntries> {
    const ours = isPeerRoute(this.clusterNets, this.own);
    const routes: Route[] = [];
    for (const r of await this.kernel.listRoutes({ family: 4, linkIndex: this.device.index }, { signal })) if (r.gateway && ours(r)) routes.push(r);
    if (this.cfg.directRouting) {
      for (const r of await this.kernel.listRoutes({ family: 4, linkIndex: this.ext.index }, { signal })) if (r.gateway && ours(r)) routes.push(r);
    }
    return { routes, neighbors: [], fdb: [] };
  }

  concerns(ev: KernelEvent): boolean {
    if (ev.kind === 'overflow' || ev.action !== 'delete') return false;
    const mine = (index: number | undefined) => index === this.device.index || (this.cfg.directRouting && index === this.ext.index);
    if (ev.kind === 'link') return ev.link.index === this.device.index;
    if (ev.kind === 'route') return mine(ev.route.linkIndex) && insideAny(this.clusterNets, ev.route.dst);
    return false;
  }
}
