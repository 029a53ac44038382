import type { IPAddress } from '../ip/ip-address.js';

/** The host interface flannel sends encapsulated or routed traffic through, and its addresses. */
export interface ExternalInterface {
  readonly name: string;
  readonly mtu: number;
  /** The interface's own IPv4/IPv6 address (used as the tunnel source). */
  readonly ifaceAddr: IPAddress | undefined;
  readonly ifaceV6Addr: IPAddress | undefined;
  /** The address other hosts reach this one at: -public-ip / -public-ipv6, else ifaceAddr. */
  readonly extAddr: IPAddress | undefined;
  readonly extV6Addr: IPAddress | undefined;
}

/** One host interface as the selection logic sees it. */
export interface HostInterface {
  readonly name: string;
  readonly mtu: number;
  readonly up: boolean;
  readonly addresses: readonly IPAddress[];
}

/** Where interface facts come from: the system, or a fake in unit tests. */
export interface InterfaceSource {
  list(): Promise<HostInterface[]>;
  /** The interface of the default route of a family, if any. */
  defaultRouteInterface(family: 4 | 6): Promise<string | undefined>;
  /** The interface and source address the kernel would use to reach `dst`. */
  routeTo(dst: IPAddress): Promise<{ iface: string; src: IPAddress } | undefined>;
}
