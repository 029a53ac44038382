import type { IPNetwork } from '../../ip/ip-network.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { Lease } from '../../lease/lease.js';
import { insideAny, type EntryDiff, type PeerEntries } from '../peer-entries.js';
import type { DataPath } from '../peer-network.js';
import type { UdpPeer, UdpTunnel } from './udp-tunnel.js';

/**
 * The udp backend's peers: one entry per remote lease in the forwarder's table (no kernel
 * routes per peer). Leases carry no BackendType under flannel's udp backend; leases that name
 * another backend are skipped.
 */
export class UdpDataPath implements DataPath {
  constructor(
    private readonly tunnel: Pick<UdpTunnel, 'ensure' | 'peers' | 'setPeer' | 'delPeer' | 'index'>,
    private readonly port: number,
    private readonly network: IPNetwork,
  ) {}

  ensureDevices(signal: AbortSignal): Promise<void> {
    return this.tunnel.ensure(signal);
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    const type = lease.attrs.backendType;
    if (type !== undefined && type !== '' && type !== 'udp') return { skip: `backend type ${type} is not udp` };
    const subnet = lease.subnet;
    if (!subnet) return { skip: 'no IPv4 subnet (the udp backend carries IPv4 only)' };
    if (!insideAny([this.network], subnet)) return { skip: `its subnet ${subnet.toString()} is outside the network` };
    const publicIP = lease.attrs.publicIP;
    if (!publicIP) return { skip: 'no public IPv4 address' };
    const peer: UdpPeer = { key: subnet.toString(), fingerprint: `${publicIP.toString()}:${this.port}`, subnet, publicIP, port: this.port };
    return { routes: [], neighbors: [], fdb: [], objects: [peer] };
  }

  async dumpOwned(): Promise<PeerEntries> {
    return { routes: [], neighbors: [], fdb: [], objects: this.tunnel.peers() };
  }

  concerns(ev: KernelEvent): boolean {
    if (ev.kind === 'overflow' || ev.action !== 'delete') return false;
    if (ev.kind === 'link') return ev.link.index === this.tunnel.index;
    if (ev.kind === 'route') return ev.route.linkIndex === this.tunnel.index && ev.route.dst.equals(this.network);
    return false;
  }

  async applyObjects(diff: EntryDiff['objects']): Promise<void> {
    for (const p of diff.del) this.tunnel.delPeer(p as UdpPeer);
    for (const p of diff.put) this.tunnel.setPeer(p as UdpPeer);
  }
}
