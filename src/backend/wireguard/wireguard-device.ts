import { sleep } from '../../async/abortable-sleep.js';
import { Backoff } from '../../async/backoff.js';
import type { Family } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import { isNotFound } from '../../kernel/kernel-errors.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { WgControl, WgDeviceState } from '../../kernel/wg-types.js';
import type { Logger } from '../../log/logger.js';
import { KernelError } from '../../errors.js';
import type { WireguardKeyPair } from './wireguard-key.js';

/** How a device is reached once made: the kernel's or a userspace implementation's. */
export interface WgImplementations {
  /** The generic-netlink control of a kernel device named `name`. */
  kernel(name: string): WgControl;
  /** The UAPI control of a running userspace device (undefined when nothing answers on its socket). */
  adoptUserspace(name: string, signal: AbortSignal): Promise<WgControl | undefined>;
  /** Starts a userspace implementation for `name`; resolves once it answers. */
  startUserspace(name: string, signal: AbortSignal): Promise<WgControl>;
  /** A line for the log: which userspace implementation runs. */
  describeUserspace(): Promise<string>;
}

export interface WireguardDeviceSpec {
  readonly name: string;
  readonly listenPort: number;
  readonly mtu: number;
  readonly keys: WireguardKeyPair;
}

const EOPNOTSUPP = 95;
/** A userspace device that lived this long before dying is restarted at once (the backoff resets). */
const HEALTHY_RUN_MS = 60_000;
/** How long a state read by ensure() may stand in for a fresh read of the peers. */
const FRESH_STATE_MS = 1000;

/**
 * One flannel WireGuard device (flannel-wg or flannel-wg-v6): a kernel `wireguard` link when the
 * kernel has WireGuard, else a TUN device run by wireguard-go (creating the link is refused with
 * EOPNOTSUPP). Holds the private key and listen port, the lease's network address(es) (/32,
 * /128), the MTU, is up, and routes the whole cluster network(s) through itself. ensure() repairs
 * all of it, re-creating the device (and restarting wireguard-go, with backoff) when it is gone.
 */
export class WireguardDevice {
  private link: Link | undefined;
  private ctl: WgControl | undefined;
  private impl: 'kernel' | 'userspace' | undefined;
  private addresses: IPNetwork[] = [];
  private networks: IPNetwork[] = [];
  private readonly restarts = new Backoff(500, 30_000);
  private startedAt = 0;
  /** The device's state as last read, for the peers() that follows an ensure() (see FRESH_STATE_MS). */
  private lastState: { readonly state: WgDeviceState; readonly at: number } | undefined;
  /** Whether the last create() made the device (rather than adopting a running one). */
  private createdHere = false;

  constructor(
    private readonly kernel: KernelOps,
    readonly spec: WireguardDeviceSpec,
    private readonly impls: WgImplementations,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get index(): number {
    return this.link?.index ?? 0;
  }

  get implementation(): 'kernel' | 'userspace' | undefined {
    return this.impl;
  }

  get control(): WgControl {
    if (!this.ctl) throw new Error(`wireguard device ${this.name} is not created yet`);
    return this.ctl;
  }

  /** Creates the device, or adopts a working one of that name (a restart keeps the tunnel). */
  async create(signal: AbortSignal): Promise<void> {
    const { name, mtu } = this.spec;
    this.createdHere = false;
    if (await this.adopt(signal)) return;
    if (this.impl !== 'userspace') {
      try {
        this.link = await this.kernel.addLink({ name, kind: 'wireguard', mtu }, { signal });
      } catch (err) {
        if (!(err instanceof KernelError && err.errno === EOPNOTSUPP)) throw err;
      }
      if (this.link?.name === name && this.link.kind === 'wireguard') {
        this.createdHere = true;
        this.use('kernel', this.impls.kernel(name));
        this.log.info(`created device ${name} (kernel WireGuard)`);
        await this.configureNew(signal);
        return;
      }
    }
    // Which wireguard-go it is, asked while it starts (the answer is only for the log).
    const describing = this.impl === undefined ? this.impls.describeUserspace() : undefined;
    this.startedAt = Date.now();
    const ctl = await this.impls.startUserspace(name, signal);
    this.createdHere = true;
    if (describing) this.log.info(`the kernel has no WireGuard (creating ${name}: EOPNOTSUPP); using ${await describing} (userspace)`);
    this.link = await this.kernel.linkByName(name, { signal });
    this.use('userspace', ctl);
    this.log.info(`started wireguard-go for ${name} (userspace WireGuard, UAPI socket)`);
    await this.configureNew(signal);
  }

  /** Key and port on a device just made; if the device refuses them, it goes again (nothing half-made stays). */
  private async configureNew(signal: AbortSignal): Promise<void> {
    try {
      await this.configureDevice(signal);
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /**
   * Deletes the device if the last create() made it (for a start that fails before the network
   * runs: nothing half-configured is left); an adopted device is left alone. Deleting a userspace
   * device ends its wireguard-go.
   */
  async discard(): Promise<void> {
    if (!this.createdHere) return;
    this.createdHere = false;
    await this.kernel.deleteLink(this.name).catch((err: unknown) => this.log.warn(`deleting ${this.name}: ${err instanceof Error ? err.message : String(err)}`));
    this.log.info(`deleted ${this.name}, which this start made`);
  }

  /** Takes over an existing device that works; deletes one that does not. True when adopted. */
  private async adopt(signal: AbortSignal): Promise<boolean> {
    const { name } = this.spec;
    let link: Link;
    try {
      link = await this.kernel.linkByName(name, { signal });
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    if (link.kind === 'wireguard') {
      this.link = link;
      this.use('kernel', this.impls.kernel(name));
      this.log.info(`reusing device ${name} (kernel WireGuard)`);
      await this.configureDevice(signal);
      return true;
    }
    const ctl = link.kind === 'tun' ? await this.impls.adoptUserspace(name, signal) : undefined;
    if (ctl) {
      this.link = link;
      this.use('userspace', ctl);
      this.log.info(`reusing device ${name} (userspace WireGuard: its wireguard-go answers)`);
      await this.configureDevice(signal);
      return true;
    }
    this.log.warn(`deleting ${name} (${link.kind ?? 'device'}${link.kind === 'tun' ? ' whose wireguard-go does not answer' : ''}) to create it anew`);
    await this.kernel.deleteLink(name, { signal });
    return false;
  }

  private use(impl: 'kernel' | 'userspace', ctl: WgControl): void {
    if (this.impl !== undefined && this.impl !== impl) this.log.info(`${this.name} is now ${impl} WireGuard (was ${this.impl})`);
    this.impl = impl;
    this.ctl = ctl;
  }

  /**
   * Sets the private key and the listen port when they differ from what the device holds (read
   * now, unless `known` was just read). The state read is kept briefly for peers().
   */
  private async configureDevice(signal: AbortSignal, known?: WgDeviceState): Promise<void> {
    const state = known ?? (await this.control.get({ signal }));
    this.lastState = { state, at: Date.now() };
    const { keys, listenPort } = this.spec;
    if (!state.privateKey?.equals(keys.privateKey) || state.listenPort !== listenPort) {
      await this.control.set({ privateKey: keys.privateKey, listenPort }, { signal });
    }
  }

  /** Gives the device its lease addresses and routes the cluster networks through it. */
  async configure(addresses: readonly IPNetwork[], networks: readonly IPNetwork[], signal: AbortSignal): Promise<void> {
    this.addresses = [...addresses];
    this.networks = [...networks];
    await this.ensure(signal);
  }

  /** Repairs the device: there and answering, key and port, MTU, addresses, up, the network routes. */
  async ensure(signal: AbortSignal): Promise<void> {
    let link: Link | undefined;
    try {
      link = await this.kernel.linkByName(this.name, { signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    let healthy = link !== undefined && link.index === this.index;
    // A userspace device is alive when its wireguard-go answers; that answer also serves below.
    let state: WgDeviceState | undefined;
    if (healthy && link && this.impl === 'userspace') {
      state = link.kind === 'tun' ? await this.control.get({ signal }).catch(() => undefined) : undefined;
      healthy = state !== undefined;
    } else if (healthy && link) {
      healthy = link.kind === 'wireguard';
    }
    if (!healthy) {
      const why = link ? `${this.name} does not answer` : `${this.name} is gone`;
      if (this.impl === 'userspace') {
        if (Date.now() - this.startedAt > HEALTHY_RUN_MS) this.restarts.reset();
        const delay = this.restarts.nextDelay();
        this.log.warn(`${why} (wireguard-go ended); re-creating it in ${delay} ms`);
        await sleep(delay, signal);
      } else {
        this.log.warn(`${why}; re-creating it`);
      }
      await this.create(signal);
      link = this.link;
    } else {
      this.link = link;
      await this.configureDevice(signal, state);
    }
    if (!link) return;
    if (link.mtu !== this.spec.mtu) await this.kernel.setLinkMtu(link.index, this.spec.mtu, { signal });
    for (const fam of [4, 6] as const) await this.ensureAddress(link.index, fam, signal);
    if (!link.up) await this.kernel.setLinkUp(link.index, { signal });
    await this.ensureRoutes(link.index, signal);
  }

  private async ensureAddress(index: number, family: Family, signal: AbortSignal): Promise<void> {
    const want = this.addresses.find((a) => a.family === family);
    if (!want) return;
    const bits = family === 4 ? 32 : 128;
    const addrs = await this.kernel.listAddresses({ linkIndex: index, family }, { signal });
    for (const a of addrs) {
      if (a.scope === 0 && !(a.ip.equals(want.ip) && a.prefixLength === bits)) {
        await this.kernel.deleteAddress({ linkIndex: index, ip: a.ip, prefixLength: a.prefixLength }, { signal });
      }
    }
    if (!addrs.some((a) => a.ip.equals(want.ip) && a.prefixLength === bits)) {
      await this.kernel.ensureAddress({ linkIndex: index, ip: want.ip, prefixLength: bits }, { signal });
    }
  }

  /** One link-scope route per cluster network through the device (flannel's addRoute). */
  private async ensureRoutes(index: number, signal: AbortSignal): Promise<void> {
    const missing: IPNetwork[] = [];
    for (const fam of [4, 6] as const) {
      const nets = this.networks.filter((n) => n.family === fam);
      if (nets.length === 0) continue;
      const have = await this.kernel.listRoutes({ family: fam, linkIndex: index }, { signal });
      for (const n of nets) if (!have.some((r) => r.dst.equals(n) && r.gateway === undefined)) missing.push(n);
    }
    if (missing.length > 0) await this.kernel.replaceRoutes(missing.map((dst) => ({ dst, linkIndex: index })), { signal });
  }

  /** The device's peers as it reports them. */
  async peers(signal: AbortSignal): Promise<WgDeviceState['peers']> {
    // A reconcile reads the device in ensure() and its peers right after: one read serves both
    // (at 5,000 peers an answer is ~1 MB of text to parse).
    const last = this.lastState;
    this.lastState = undefined;
    if (last && Date.now() - last.at < FRESH_STATE_MS) return last.state.peers;
    return (await this.control.get({ signal })).peers;
  }
}

