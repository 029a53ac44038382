import type { IPAddress } from '../ip/ip-address.js';
import type { KernelOps } from '../kernel/kernel-ops.js';
import type { HostInterface, InterfaceSource } from './external-interface.js';

const IFF_UP = 0x1;

/**
 * Interface facts through rtnetlink, for the backends that load the kernel layer anyway:
 * `ip addr show`, `ip route show default` and `ip route get` equivalents, nothing parsed.
 */
export class NetlinkInterfaces implements InterfaceSource {
  constructor(private readonly kernel: KernelOps) {}

  async list(): Promise<HostInterface[]> {
    return (await this.kernel.listInterfaces()).map(({ link, addresses }) => ({
      name: link.name,
      mtu: link.mtu,
      up: (link.flags & IFF_UP) !== 0,
      addresses: addresses.map((a) => a.ip),
    }));
  }

  async defaultRouteInterface(family: 4 | 6): Promise<string | undefined> {
    return (await this.kernel.defaultRouteInterface(family))?.link.name;
  }

  async routeTo(dst: IPAddress): Promise<{ iface: string; src: IPAddress } | undefined> {
    let route;
    try {
      route = await this.kernel.getRoute(dst);
    } catch {
      return undefined;
    }
    if (route.linkIndex === undefined) return undefined;
    const link = await this.kernel.linkByIndex(route.linkIndex);
    const src = route.src ?? (await this.kernel.listAddresses({ linkIndex: link.index, family: dst.family }))[0]?.ip;
    return src ? { iface: link.name, src } : undefined;
  }
}
