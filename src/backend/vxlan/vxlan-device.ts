import type { Family } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import { isNotFound } from '../../kernel/kernel-errors.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link, VxlanSpec } from '../../kernel/link.js';
import type { Logger } from '../../log/logger.js';

/**
 * One flannel vxlan device (flannel.<VNI> or flannel-v6.<VNI>): created with the spec, kept
 * with its MAC across restarts, given the lease's network address (/32 or /128) as its only
 * address of that family, and brought up. ensure() repairs it if it was changed or deleted.
 */
export class VxlanDevice {
  private link: Link | undefined;
  private address: IPNetwork | undefined;

  constructor(
    private readonly kernel: KernelOps,
    private spec: VxlanSpec,
    readonly family: Family,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get index(): number {
    return this.link?.index ?? 0;
  }

  get mac(): string {
    return this.link?.hardwareAddr ?? '';
  }

  /** Creates or adopts the device; its MAC is kept (or, once known, pinned for re-creation). */
  async create(signal?: AbortSignal): Promise<void> {
    const res = await this.kernel.ensureVxlan(this.spec, { signal });
    this.link = res.link;
    if (res.created) {
      this.log.info(`created vxlan device ${this.spec.name}${res.recreatedBecause ? ` (replacing one with ${res.recreatedBecause})` : ''}`);
    } else {
      this.log.info(`reusing vxlan device ${this.spec.name} (MAC ${this.mac})`);
    }
    // Should the device vanish later, bring it back with the same MAC that peers know.
    if (this.link.hardwareAddr) this.spec = { ...this.spec, hardwareAddr: this.link.hardwareAddr };
  }

  /** Sets the device's address to the lease's network address and brings it up. */
  async configure(address: IPNetwork, signal?: AbortSignal): Promise<void> {
    this.address = address;
    await this.ensure(signal);
  }

  /** Repairs the device: re-created if gone, the single address of its family, up. */
  async ensure(signal?: AbortSignal): Promise<void> {
    let link: Link | undefined;
    try {
      link = await this.kernel.linkByName(this.spec.name, { signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!link || link.kind !== 'vxlan' || link.vxlan?.vni !== this.spec.vni) {
      this.log.warn(`vxlan device ${this.spec.name} is missing or changed; re-creating it`);
      await this.create(signal);
      link = this.link;
    }
    if (!link) return;
    this.link = link;
    const want = this.address;
    if (want) {
      const bits = want.family === 4 ? 32 : 128;
      const addrs = await this.kernel.listAddresses({ linkIndex: link.index, family: this.family }, { signal });
      for (const a of addrs) {
        if (a.scope === 0 && !(a.ip.equals(want.ip) && a.prefixLength === bits)) {
          await this.kernel.deleteAddress({ linkIndex: link.index, ip: a.ip, prefixLength: a.prefixLength }, { signal });
        }
      }
      if (!addrs.some((a) => a.ip.equals(want.ip) && a.prefixLength === bits)) {
        await this.kernel.ensureAddress({ linkIndex: link.index, ip: want.ip, prefixLength: bits }, { signal });
      }
    }
    if (!link.up) await this.kernel.setLinkUp(link.index, { signal });
  }
}
