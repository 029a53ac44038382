import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { WgEndpoint, WgPeerSet, WgPeerState } from '../../kernel/wg-types.js';
import type { Lease } from '../../lease/lease.js';
import { insideAny, type EntryDiff, type PeerEntries, type PeerObject } from '../peer-entries.js';
import type { DataPath } from '../peer-network.js';
import { formatEndpoint } from './uapi-protocol.js';
import type { WireguardConfig } from './wireguard-config.js';
import type { WireguardDevice } from './wireguard-device.js';
import { parsePeerLeaseData, type PeerLeaseData } from './wireguard-lease-data.js';

/** One WireGuard peer on one device, as wanted (with `set`) or as found on the device. */
export interface WgPeerObject extends PeerObject {
  readonly device: WireguardDevice;
  readonly publicKey: Buffer;
  /** What to set for a wanted peer (undefined for one found on the device). */
  readonly set?: WgPeerSet;
}

/** The devices of a network: separate (flannel-wg + flannel-wg-v6) or one for both families. */
export interface WireguardDevices {
  readonly v4?: WireguardDevice;
  readonly v6?: WireguardDevice;
  /** The single device of modes auto, ipv4 and ipv6. */
  readonly both?: WireguardDevice;
}

const NO_PSK = Buffer.alloc(32);

/** What the local end knows that the choice of a peer's endpoint depends on (auto mode). */
export interface LocalAddresses {
  readonly publicIP: IPAddress | undefined;
  readonly publicIPv6: IPAddress | undefined;
}

/**
 * The per-peer half of the WireGuard backend, in the shared peer loop: each remote lease becomes
 * one peer per device (public key, endpoint, allowed IPs = its subnet(s), PSK, keepalive, allowed
 * IPs replaced), diffed against what the devices report and applied as one set per device.
 */
export class WireguardDataPath implements DataPath {
  private readonly pskTag: string;

  constructor(
    private readonly cfg: WireguardConfig,
    private readonly devices: WireguardDevices,
    private readonly clusterNets: readonly (IPNetwork | undefined)[],
    private readonly local: LocalAddresses,
  ) {
    this.pskTag = cfg.psk ? 'psk' : 'none';
  }

  private all(): WireguardDevice[] {
    return [this.devices.v4, this.devices.v6, this.devices.both].filter((d) => d !== undefined);
  }

  async ensureDevices(signal: AbortSignal): Promise<void> {
    for (const d of this.all()) await d.ensure(signal);
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    const a = lease.attrs;
    if (a.backendType !== 'wireguard') return { skip: `backend type ${a.backendType ?? '(none)'} is not wireguard` };
    const who = `peer ${a.publicIP?.toString() ?? a.publicIPv6?.toString() ?? '(no public IP)'}`;
    const objects: WgPeerObject[] = [];
    const { v4, v6, both } = this.devices;
    if (v4 && lease.subnet) {
      const d = parsePeerLeaseData(a.backendData, 'BackendData');
      if (typeof d === 'string') return { skip: `${who}: ${d}` };
      if (!a.publicIP) return { skip: `${who}: no public IPv4 address` };
      objects.push(this.peer(v4, d.publicKey, { ip: a.publicIP, port: d.port ?? this.cfg.listenPort }, [lease.subnet]));
    }
    if (v6 && lease.ipv6Subnet) {
      const d = parsePeerLeaseData(a.backendV6Data, 'BackendV6Data');
      if (typeof d === 'string') return { skip: `${who}: ${d}` };
      if (!a.publicIPv6) return { skip: `${who}: no public IPv6 address` };
      objects.push(this.peer(v6, d.publicKey, { ip: a.publicIPv6, port: d.port ?? this.cfg.listenPortV6 }, [lease.ipv6Subnet]));
    }
    if (both) {
      const subnets = [lease.subnet, lease.ipv6Subnet].filter((n): n is IPNetwork => n !== undefined && insideAny(this.clusterNets, n));
      if (subnets.length === 0) return { routes: [], neighbors: [], fdb: [] };
      const d4 = lease.subnet ? parsePeerLeaseData(a.backendData, 'BackendData') : undefined;
      const d6 = lease.ipv6Subnet ? parsePeerLeaseData(a.backendV6Data, 'BackendV6Data') : undefined;
      if (typeof d4 === 'string') return { skip: `${who}: ${d4}` };
      if (typeof d6 === 'string') return { skip: `${who}: ${d6}` };
      // As flannel: the IPv6 data's key when there is an IPv6 subnet, else the IPv4 data's.
      const key = (d6 ?? d4 as PeerLeaseData).publicKey;
      const family = this.endpointFamily(a.publicIP, a.publicIPv6);
      const ip = family === 6 ? a.publicIPv6 : a.publicIP;
      if (!ip) return { skip: `${who}: no public IPv${family} address for Mode ${this.cfg.mode}` };
      const port = (family === 6 ? d6?.port : d4?.port) ?? this.cfg.listenPort;
      objects.push(this.peer(both, key, { ip, port }, subnets));
    }
    return { routes: [], neighbors: [], fdb: [], objects };
  }

  /**
   * Which family to reach a peer over with one device (flannel's selectMode for `auto`): IPv4
   * when the peer has no IPv6 or a public IPv4 we can use, IPv6 when both ends have public IPv6,
   * else IPv4.
   */
  private endpointFamily(ip4: IPAddress | undefined, ip6: IPAddress | undefined): 4 | 6 {
    if (this.cfg.mode === 'ipv4') return 4;
    if (this.cfg.mode === 'ipv6') return 6;
    if (!ip6) return 4;
    if (ip4 && !isPrivate(ip4) && this.local.publicIP) return 4;
    if (!isPrivate(ip6) && this.local.publicIPv6 && !isPrivate(this.local.publicIPv6)) return 6;
    return 4;
  }

  private peer(device: WireguardDevice, publicKey: Buffer, endpoint: WgEndpoint, allowedIps: IPNetwork[]): WgPeerObject {
    return {
      key: `${device.name}|${publicKey.toString('base64')}`,
      fingerprint: fingerprint(endpoint, allowedIps, this.cfg.persistentKeepalive, this.pskTag),
      device,
      publicKey,
      set: {
        publicKey,
        presharedKey: this.cfg.psk ?? NO_PSK,
        endpoint,
        persistentKeepalive: this.cfg.persistentKeepalive,
        replaceAllowedIps: true,
        allowedIps,
      },
    };
  }

  async dumpOwned(signal: AbortSignal): Promise<PeerEntries> {
    const objects: WgPeerObject[] = [];
    for (const device of this.all()) {
      for (const p of await device.peers(signal)) {
        objects.push({
          key: `${device.name}|${p.publicKey.toString('base64')}`,
          fingerprint: fingerprint(p.endpoint, p.allowedIps, p.persistentKeepalive, this.pskTagOf(p)),
          device,
          publicKey: p.publicKey,
        });
      }
    }
    return { routes: [], neighbors: [], fdb: [], objects };
  }

  private pskTagOf(p: WgPeerState): string {
    if (!p.presharedKey) return 'none';
    return this.cfg.psk?.equals(p.presharedKey) ? 'psk' : 'other';
  }

  /** One set per device: the removals, then the peers to create or change. */
  async applyObjects(diff: EntryDiff['objects'], signal: AbortSignal): Promise<void> {
    const perDevice = new Map<WireguardDevice, WgPeerSet[]>();
    const add = (o: PeerObject, set: WgPeerSet) => {
      const dev = (o as WgPeerObject).device;
      let list = perDevice.get(dev);
      if (!list) perDevice.set(dev, (list = []));
      list.push(set);
    };
    const putKeys = new Set(diff.put.map((o) => o.key));
    for (const o of diff.del) if (!putKeys.has(o.key)) add(o, { publicKey: (o as WgPeerObject).publicKey, remove: true });
    for (const o of diff.put) {
      const set = (o as WgPeerObject).set;
      if (set) add(o, set);
    }
    const failures: string[] = [];
    for (const [dev, peers] of perDevice) {
      try {
        await dev.control.set({ peers }, { signal });
      } catch (err) {
        failures.push(`${dev.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`setting WireGuard peers failed: ${failures.join('; ')}`);
  }

  concerns(ev: KernelEvent): boolean {
    if (ev.kind === 'overflow' || ev.action !== 'delete') return false;
    const idx = new Set(this.all().map((d) => d.index));
    if (ev.kind === 'link') return idx.has(ev.link.index);
    if (ev.kind === 'route') return ev.route.linkIndex !== undefined && idx.has(ev.route.linkIndex) && insideAny(this.clusterNets, ev.route.dst);
    return false;
  }
}

function fingerprint(endpoint: WgEndpoint | undefined, allowedIps: readonly IPNetwork[], keepalive: number, psk: string): string {
  const ips = allowedIps.map((n) => n.toString()).sort().join(',');
  return `${endpoint ? formatEndpoint(endpoint) : '-'}|${ips}|${keepalive}|${psk}`;
}

/** Go's net.IP.IsPrivate: 10/8, 172.16/12, 192.168/16, fc00::/7. */
function isPrivate(ip: IPAddress): boolean {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return v >>> 24 === 10 || v >>> 20 === (172 << 4) + 1 || v >>> 16 === (192 << 8) + 168;
  }
  return ip.value >> 121n === 0x7en;
}
