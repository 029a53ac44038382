import { InterfaceError, formatValue } from '../../errors.js';
import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import { normalizeMac } from '../../kernel/mac-address.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { FdbEntry } from '../../kernel/fdb.js';
import type { Neighbor } from '../../kernel/neighbor.js';
import type { Route } from '../../kernel/route.js';
import type { Lease } from '../../lease/lease.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { isOnLink, onLinkPrefixes } from '../on-link.js';
import { emptyEntryLists, insideAny, isPeerRoute, type EntryKind, type EntryLists, type KindEntry, type PeerEntries } from '../peer-entries.js';
import { PeerNetwork, type DataPath } from '../peer-network.js';
import { VXLAN_ENCAP_OVERHEAD_V4, VXLAN_ENCAP_OVERHEAD_V6, parseVxlanConfig, vxlanDeviceName, type VxlanConfig } from './vxlan-config.js';
import { VxlanDevice } from './vxlan-device.js';

/** flannel's lease data for vxlan: {"VNI":1,"VtepMAC":"..."} (this key order). */
export interface VxlanLeaseData {
  readonly VNI: number;
  readonly VtepMAC: string;
}

/** The vxlan backend (flannel's default): one VXLAN device per family, static neighbour/FDB entries per peer. */
export class VxlanBackend implements Backend {
  readonly type = 'vxlan';
  readonly usesKernel = true;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseVxlanConfig(ctx.config.backend);
    const kernel = ctx.kernel();
    const log = ctx.logger;
    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const devices: { v4?: VxlanDevice; v6?: VxlanDevice } = {};
    const mtus: number[] = [];
    // As flannel (GetStoredMacAddresses): a device that has to be created takes the VtepMAC
    // this host published before, so peers' neighbour and FDB entries stay right.
    const stored = (await ctx.storedBackendData?.(signal)) ?? {};
    const make = async (family: 4 | 6, local: IPAddress | undefined) => {
      if (!local) throw new InterfaceError(`vxlan: interface ${ext.name} has no IPv${family} address for the tunnel`);
      const mtu = cfg.mtu || ext.mtu - (family === 4 ? VXLAN_ENCAP_OVERHEAD_V4 : VXLAN_ENCAP_OVERHEAD_V6);
      mtus.push(mtu);
      const name = vxlanDeviceName(cfg.vni, family);
      const published = family === 4 ? stored.data : stored.v6Data;
      const mac = published && typeof published === 'object' && 'VtepMAC' in published ? vtepMac(published) : undefined;
      if (typeof mac === 'object') log.warn(`${name}: not reusing the stored backend data's MAC: ${mac.problem}`);
      else if (mac) log.info(`${name}: MAC ${mac} from the stored backend data, for the device if it is created`);
      const dev = new VxlanDevice(
        kernel,
        {
          name,
          vni: cfg.vni,
          port: cfg.port || undefined,
          local,
          deviceIndex: ext.index,
          learning: cfg.learning,
          gbp: cfg.gbp,
          mtu,
          hardwareAddr: typeof mac === 'string' ? mac : undefined,
        },
        family,
        log,
      );
      await dev.create(signal);
      return dev;
    };
    if (ctx.config.enableIPv4) devices.v4 = await make(4, ctx.extIface.ifaceAddr);
    if (ctx.config.enableIPv6) devices.v6 = await make(6, ctx.extIface.ifaceV6Addr);

    const data = (d: VxlanDevice | undefined): VxlanLeaseData | undefined => (d ? { VNI: cfg.vni, VtepMAC: d.mac } : undefined);
    const lease = await ctx.acquireLease(
      {
        publicIP: ctx.extIface.extAddr,
        publicIPv6: ctx.extIface.extV6Addr,
        backendType: 'vxlan',
        backendData: data(devices.v4),
        backendV6Data: data(devices.v6),
      },
      signal,
    );
    if (devices.v4 && lease.subnet) await devices.v4.configure(lease.subnet, signal);
    if (devices.v6 && lease.ipv6Subnet) await devices.v6.configure(lease.ipv6Subnet, signal);

    const dataPath = new VxlanDataPath(kernel, cfg, ext, devices, lease, [ctx.config.network, ctx.config.ipv6Network]);
    await dataPath.ensureDevices(signal);
    const peers = new PeerNetwork({ kernel, dataPath, logger: log, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
    return {
      lease,
      mtu: Math.min(...mtus),
      run: (events, runSignal) => peers.run(events, runSignal),
    };
  }
}

/** Per-peer entries of the vxlan backend, as flannel programs them. */
class VxlanDataPath implements DataPath {
  private onLink: IPNetwork[] = [];

  constructor(
    private readonly kernel: KernelOps,
    private readonly cfg: VxlanConfig,
    private ext: Link,
    private readonly devices: { v4?: VxlanDevice; v6?: VxlanDevice },
    private readonly own: Lease,
    private readonly clusterNets: readonly (IPNetwork | undefined)[],
  ) {}

  async ensureDevices(signal: AbortSignal): Promise<void> {
    await this.devices.v4?.ensure(signal);
    await this.devices.v6?.ensure(signal);
    this.ext = await this.kernel.linkByIndex(this.ext.index, { signal });
    if (this.cfg.directRouting) this.onLink = await onLinkPrefixes(this.kernel, this.ext.index, signal);
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    if (lease.attrs.backendType !== 'vxlan') return { skip: `backend type ${lease.attrs.backendType ?? '(none)'} is not vxlan` };
    const out = emptyEntryLists();
    const why =
      this.addPeer(out, this.devices.v4, lease.subnet, lease.attrs.publicIP, lease.attrs.backendData) ??
      this.addPeer(out, this.devices.v6, lease.ipv6Subnet, lease.attrs.publicIPv6, lease.attrs.backendV6Data);
    return why ? { skip: why } : out;
  }

  /** One family's entries of a peer into `out`; why the lease is skipped, or undefined. */
  private addPeer(out: EntryLists, dev: VxlanDevice | undefined, subnet: IPNetwork | undefined, publicIP: IPAddress | undefined, raw: unknown): string | undefined {
    if (!dev || !subnet) return undefined;
    if (!publicIP) return `no public IPv${dev.family} address`;
    const mac = vtepMac(raw);
    if (typeof mac !== 'string') return `${mac.problem} in its IPv${dev.family} backend data`;
    if (mac === normalizeMac(dev.mac)) return `its VtepMAC ${mac} is this host's own (${dev.name})`;
    if (this.cfg.directRouting && isOnLink(this.onLink, publicIP)) {
      out.routes.push({ dst: subnet, gateway: publicIP, linkIndex: this.ext.index });
      return undefined;
    }
    out.routes.push({ dst: subnet, gateway: subnet.ip, linkIndex: dev.index, onlink: true });
    out.neighbors.push({ linkIndex: dev.index, ip: subnet.ip, hardwareAddr: mac });
    out.fdb.push({ linkIndex: dev.index, hardwareAddr: mac, dst: publicIP });
    return undefined;
  }

  readonly dumpKinds: readonly EntryKind[] = ['routes', 'neighbors', 'fdb'];

  async dumpOwned(signal: AbortSignal, only?: EntryKind, keep?: (entry: KindEntry<EntryKind>) => boolean): Promise<PeerEntries> {
    const k = this.kernel;
    const needs = (kind: EntryKind) => only === undefined || only === kind;
    // Our filters and the caller's `keep` run as each entry is read (see RouteFilter.keep).
    const also = <T extends KindEntry<EntryKind>>(ours: (x: T) => boolean) => (x: T) => ours(x) && (keep === undefined || keep(x));
    const isOurRoute = isPeerRoute(this.clusterNets, this.own);
    const routes: Route[] = [];
    const neighbors: PeerEntries['neighbors'][number][] = [];
    const fdb: PeerEntries['fdb'][number][] = [];
    for (const dev of [this.devices.v4, this.devices.v6]) {
      if (!dev) continue;
      if (needs('routes')) for (const r of await k.listRoutes({ family: dev.family, linkIndex: dev.index, keep: also(isOurRoute) }, { signal })) routes.push(r);
      if (needs('neighbors')) {
        const permanent = (n: Neighbor) => n.state === NUD_PERMANENT;
        for (const n of await k.listNeighbors({ linkIndex: dev.index, family: dev.family, keep: also(permanent) }, { signal })) neighbors.push(n);
      }
    }
    if (needs('fdb')) {
      // One FDB dump covers both devices.
      const devIndexes = new Set([this.devices.v4?.index, this.devices.v6?.index]);
      const onOurDevice = (f: FdbEntry) => devIndexes.has(f.linkIndex) && f.dst !== undefined;
      for (const f of await k.listFdb({ keep: also(onOurDevice) }, { signal })) fdb.push(f);
    }
    if (this.cfg.directRouting && needs('routes')) {
      const viaGateway = (r: Route) => r.gateway !== undefined && isOurRoute(r);
      for (const r of await k.listRoutes({ linkIndex: this.ext.index, keep: also(viaGateway) }, { signal })) routes.push(r);
    }
    return { routes, neighbors, fdb };
  }

  concerns(ev: KernelEvent): boolean {
    if (ev.kind === 'overflow' || ev.action !== 'delete') return false;
    const idx = new Set([this.devices.v4?.index, this.devices.v6?.index]);
    if (this.cfg.directRouting) idx.add(this.ext.index);
    switch (ev.kind) {
      case 'link':
        return idx.has(ev.link.index);
      case 'route':
        return ev.route.linkIndex !== undefined && idx.has(ev.route.linkIndex) && insideAny(this.clusterNets, ev.route.dst);
      case 'neighbor':
        return idx.has(ev.neighbor.linkIndex);
      case 'fdb':
        return idx.has(ev.fdb.linkIndex);
      default:
        return false;
    }
  }
}

const NUD_PERMANENT = 0x80;

/**
 * A peer's VtepMAC, canonical, or what is wrong with it. A MAC of all zeros or with the
 * group bit set (multicast, broadcast) names no VTEP: as a neighbour or FDB entry it would
 * flood or blackhole the peer's traffic.
 */
export function vtepMac(raw: unknown): string | { problem: string } {
  if (!raw || typeof raw !== 'object') return { problem: 'no VtepMAC' };
  const mac = (raw as Record<string, unknown>)['VtepMAC'];
  if (typeof mac !== 'string') return { problem: mac === undefined ? 'no VtepMAC' : `VtepMAC ${formatValue(mac).slice(0, 60)} is not a string` };
  let canonical: string;
  try {
    canonical = normalizeMac(mac);
  } catch {
    return { problem: `VtepMAC ${formatValue(mac).slice(0, 60)} is not a MAC address` };
  }
  if (canonical === '00:00:00:00:00:00') return { problem: `VtepMAC ${canonical} is all zeros` };
  if (parseInt(canonical.slice(0, 2), 16) & 1) {
    return { problem: `VtepMAC ${canonical} is a ${canonical === 'ff:ff:ff:ff:ff:ff' ? 'broadcast' : 'multicast'} address` };
  }
  return canonical;
}
