import { errorMessage } from '../../errors.js';
import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import { isNotFound } from '../../kernel/kernel-errors.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { Logger } from '../../log/logger.js';
import type { PeerObject } from '../peer-entries.js';
import type { Forwarder, ForwarderStats, TunAddon } from './tun-addon.js';
import { UDP_TUN_TEMPLATE } from './udp-config.js';

/** One peer of the forwarder: packets for `subnet` go in UDP to publicIP:port. */
export interface UdpPeer extends PeerObject {
  readonly subnet: IPNetwork;
  readonly publicIP: IPAddress;
  readonly port: number;
}

export interface UdpTunnelOptions {
  /** The address the UDP socket binds (flannel: the interface's own address). */
  readonly bindIp: IPAddress;
  readonly port: number;
  readonly mtu: number;
  /** The cluster network, routed as a whole through the TUN device. */
  readonly network: IPNetwork;
}

/**
 * flannel's udp data path: the TUN device (flannel0; it exists while this process holds it),
 * the UDP socket and the addon's forwarding thread between them, and the peer table. After the
 * lease: the device gets the subnet's network address /32, MTU, up, and one route for the whole
 * network. ensure() repairs that, and re-opens everything when the device was deleted or the
 * thread stopped (the peer table then starts empty, so the next diff puts every peer back).
 */
export class UdpTunnel {
  private forwarder: Forwarder | undefined;
  private tunName = '';
  private link: Link | undefined;
  private subnet: IPNetwork | undefined;
  private readonly peerTable = new Map<string, UdpPeer>();
  private reportedDrops = 0;

  constructor(
    private readonly addon: TunAddon,
    private readonly kernel: KernelOps,
    private readonly opts: UdpTunnelOptions,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.tunName;
  }

  get index(): number {
    return this.link?.index ?? 0;
  }

  /** Opens the TUN device and binds the socket (before the lease: a failure leaves nothing taken). */
  async open(signal?: AbortSignal): Promise<void> {
    const tun = this.addon.openTun(UDP_TUN_TEMPLATE);
    // The forwarder owns the descriptor from here on (it closes it on failure too).
    // ICMP errors come from the network's own address: not the device's (the lease subnet's),
    // which is local, so the kernel would drop them as martians (as it does Go flannel's).
    this.forwarder = new this.addon.Forwarder(tun.fd, this.opts.bindIp.toString(), this.opts.port, this.opts.network.ip.toString());
    this.tunName = tun.name;
    this.peerTable.clear();
    this.link = await this.kernel.linkByName(tun.name, { signal });
    this.log.info(`opened TUN device ${tun.name}; forwarding UDP on ${this.opts.bindIp.toString()}:${this.opts.port}`);
  }

  /** Gives the device the lease's address and the network route. */
  async configure(subnet: IPNetwork, signal?: AbortSignal): Promise<void> {
    this.subnet = subnet;
    await this.ensure(signal);
  }

  /** Repairs the device: re-opened if gone or its thread stopped; address, MTU, up, the network route. */
  async ensure(signal?: AbortSignal): Promise<void> {
    let link: Link | undefined;
    try {
      link = this.link ? await this.kernel.linkByIndex(this.link.index, { signal }) : undefined;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!link || link.name !== this.tunName || !this.forwarder?.stats().running) {
      this.log.warn(`TUN device ${this.tunName || '(none)'} is gone or its forwarder stopped; re-opening it`);
      this.close();
      await this.open(signal);
      link = this.link;
    }
    if (!link) return;
    this.link = link;
    const k = this.kernel;
    const o = { signal };
    if (link.mtu !== this.opts.mtu) await k.setLinkMtu(link.index, this.opts.mtu, o);
    const subnet = this.subnet;
    if (subnet) {
      const addrs = await k.listAddresses({ linkIndex: link.index, family: 4 }, o);
      if (!addrs.some((a) => a.ip.equals(subnet.ip) && a.prefixLength === 32)) await k.ensureAddress({ linkIndex: link.index, ip: subnet.ip, prefixLength: 32 }, o);
    }
    if (!link.up) await k.setLinkUp(link.index, o);
    if (subnet) {
      const routes = await k.listRoutes({ family: 4, linkIndex: link.index }, o);
      if (!routes.some((r) => r.dst.equals(this.opts.network) && !r.gateway)) {
        // flannel: `ip route add <network> dev flannel0` (scope universe).
        await k.replaceRoutes([{ dst: this.opts.network, linkIndex: link.index, scope: 0 }], o);
      }
    }
    this.reportDrops();
  }

  /** The peers now in the forwarder's table. */
  peers(): UdpPeer[] {
    return [...this.peerTable.values()];
  }

  setPeer(p: UdpPeer): void {
    const f = this.requireForwarder();
    f.setRoute(Number(p.subnet.ip.value), p.subnet.prefixLength, Number(p.publicIP.value), p.port);
    this.peerTable.set(p.key, p);
  }

  delPeer(p: UdpPeer): void {
    this.forwarder?.delRoute(Number(p.subnet.ip.value), p.subnet.prefixLength);
    this.peerTable.delete(p.key);
  }

  stats(): ForwarderStats | undefined {
    return this.forwarder?.stats();
  }

  /** Stops forwarding; the TUN device goes with its descriptor. */
  close(): void {
    try {
      this.forwarder?.close();
    } catch (err) {
      this.log.warn(`closing the forwarder: ${errorMessage(err)}`);
    }
    this.forwarder = undefined;
    this.link = undefined;
    this.peerTable.clear();
  }

  private requireForwarder(): Forwarder {
    if (!this.forwarder) throw new Error('the udp forwarder is not open');
    return this.forwarder;
  }

  /** Logs packets dropped for want of a peer since the last report (called at each reconcile). */
  private reportDrops(): void {
    const s = this.forwarder?.stats();
    if (!s) return;
    if (s.droppedNoRoute > this.reportedDrops) {
      this.log.info(`dropped ${s.droppedNoRoute - this.reportedDrops} packets to destinations no peer holds (${s.droppedNoRoute} since ${this.tunName} opened)`);
    }
    this.reportedDrops = s.droppedNoRoute;
  }
}
