import { FlannelError, KernelError } from '../../errors.js';
import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { IpipSpec } from '../../kernel/ipip-link.js';
import type { KernelOps } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { Logger } from '../../log/logger.js';

const EOPNOTSUPP = 95;

/** The kernel refused to create an ipip link: it was built without ipip (no `ipip` module). */
export class IpipUnsupportedError extends FlannelError {
  constructor(
    readonly device: string,
    cause: KernelError,
  ) {
    super(
      'ERR_IPIP_UNSUPPORTED',
      `ipip backend: the kernel refused to create ${device} (operation not supported, EOPNOTSUPP): this kernel lacks ipip tunnel support (CONFIG_NET_IPIP, module ipip); load the module or choose another backend`,
      { cause },
    );
  }
}

/**
 * flannel's `flannel.ipip` device: created (or adopted when its local address is right) before
 * the lease is taken, MTU = interface MTU - 20, the lease subnet's network address /32 as its
 * only address inside the cluster network, up. ensure() repairs it when changed or deleted.
 */
export class IpipDevice {
  private link: Link | undefined;
  private address: IPAddress | undefined;

  constructor(
    private readonly kernel: KernelOps,
    private readonly spec: IpipSpec & { readonly mtu: number },
    private readonly clusterNet: IPNetwork | undefined,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get index(): number {
    return this.link?.index ?? 0;
  }

  get mtu(): number {
    return this.link?.mtu ?? this.spec.mtu;
  }

  /** Creates or adopts the device (an incompatible ipip device is re-created). */
  async create(signal?: AbortSignal): Promise<void> {
    try {
      const res = await this.kernel.ensureIpip(this.spec, { signal });
      if (res.created) this.log.info(`created ipip device ${this.spec.name}${res.recreatedBecause ? ` (replacing one with ${res.recreatedBecause})` : ''}`);
      else if (this.link === undefined) this.log.info(`reusing ipip device ${this.spec.name}`);
      this.link = res.link;
    } catch (err) {
      if (err instanceof KernelError && err.errno === EOPNOTSUPP) throw new IpipUnsupportedError(this.spec.name, err);
      throw err;
    }
  }

  /** Gives the device the lease's network address (/32) and brings it up. */
  async configure(subnet: IPNetwork, signal?: AbortSignal): Promise<void> {
    this.address = subnet.ip;
    await this.ensure(signal);
  }

  /** Repairs the device: re-created if gone or changed, MTU, the one address, up. */
  async ensure(signal?: AbortSignal): Promise<void> {
    await this.create(signal);
    const link = this.link;
    if (!link) return;
    const want = this.address;
    if (want) {
      const addrs = await this.kernel.listAddresses({ linkIndex: link.index, family: 4 }, { signal });
      let have = false;
      for (const a of addrs) {
        if (a.ip.equals(want) && a.prefixLength === 32) have = true;
        else if (this.clusterNet?.contains(a.ip)) {
          await this.kernel.deleteAddress({ linkIndex: link.index, ip: a.ip, prefixLength: a.prefixLength }, { signal });
          this.log.info(`removed address ${a.ip.toString()}/${a.prefixLength} from ${this.spec.name}`);
        }
      }
      if (!have) await this.kernel.ensureAddress({ linkIndex: link.index, ip: want, prefixLength: 32 }, { signal });
    }
    if (!link.up) {
      await this.kernel.setLinkUp(link.index, { signal });
      link.up = true;
    }
  }
}
