import { IPAddress } from '../../src/ip/ip-address.js';
import type { HostInterface, InterfaceSource } from '../../src/net/external-interface.js';

export interface FakeInterfaceSpec {
  readonly name: string;
  readonly mtu?: number;
  readonly up?: boolean;
  readonly addresses?: readonly string[];
}

export interface FakeInterfaceOptions {
  /** Interface name of the default route per family. */
  readonly defaultRoute?: { readonly 4?: string; readonly 6?: string };
  /** Destination text -> interface name and source address the "kernel" would use. */
  readonly routes?: Readonly<Record<string, { iface: string; src: string }>>;
}

/** An in-memory InterfaceSource: a host's interfaces, default routes and route lookups. */
export class FakeInterfaces implements InterfaceSource {
  readonly interfaces: HostInterface[];
  /** Every routeTo() destination asked for, in order. */
  readonly routeQueries: string[] = [];

  constructor(
    specs: readonly FakeInterfaceSpec[],
    private readonly opts: FakeInterfaceOptions = {},
  ) {
    this.interfaces = specs.map((s) => ({
      name: s.name,
      mtu: s.mtu ?? 1500,
      up: s.up ?? true,
      addresses: (s.addresses ?? []).map((a) => IPAddress.parse(a)),
    }));
  }

  async list(): Promise<HostInterface[]> {
    return this.interfaces.map((i) => ({ ...i, addresses: [...i.addresses] }));
  }

  async defaultRouteInterface(family: 4 | 6): Promise<string | undefined> {
    return this.opts.defaultRoute?.[family];
  }

  async routeTo(dst: IPAddress): Promise<{ iface: string; src: IPAddress } | undefined> {
    this.routeQueries.push(dst.toString());
    const r = this.opts.routes?.[dst.toString()];
    return r ? { iface: r.iface, src: IPAddress.parse(r.src) } : undefined;
  }
}
