import type { Family, IPAddress } from '../ip/ip-address.js';
import { deleteAddress, ensureAddress, listAddresses, type AddressFilter, type AddressSpec, type InterfaceAddress } from './address.js';
import { subscribe, type KernelEvent, type KernelEventGroup } from './events.js';
import { deleteFdb, listFdb, replaceFdb, type FdbEntry, type FdbFilter } from './fdb.js';
import {
  defaultRouteInterface,
  interfaceByAddress,
  listInterfaces,
  type DefaultRouteInterface,
  type InterfaceInfo,
} from './interfaces.js';
import {
  deleteLink,
  ensureVxlan,
  linkByIndex,
  linkByName,
  listLinks,
  setLinkHardwareAddr,
  setLinkMtu,
  setLinkUp,
  type EnsureVxlanResult,
  type Link,
  type VxlanSpec,
} from './link.js';
import { addLink, type LinkSpec } from './link-add.js';
import { ensureIpip, type EnsureIpipResult, type IpipSpec } from './ipip-link.js';
import { deleteNeighbors, listNeighbors, replaceNeighbors, type Neighbor, type NeighborFilter } from './neighbor.js';
import { NetlinkSocket, type CallOptions } from './netlink-socket.js';
import { deleteRoutes, getRoute, listRoutes, replaceRoutes, type Route, type RouteFilter } from './route.js';

/**
 * Everything the backends and the agent ask of the kernel. Implemented over rtnetlink by
 * NetlinkKernel; tests of backends can use an in-memory fake instead. Adds are idempotent
 * (replace, or "exists" is success); deletes treat "not found" as success; batch calls are
 * pipelined and throw KernelBatchError listing each failed object.
 */
export interface KernelOps {
  ensureVxlan(spec: VxlanSpec, opts?: CallOptions): Promise<EnsureVxlanResult>;
  /** Creates a link by kind (EEXIST when the name is taken, EOPNOTSUPP when the kind is unknown). */
  addLink(spec: LinkSpec, opts?: CallOptions): Promise<Link>;
  /** Creates or adopts an ipip tunnel (EOPNOTSUPP when the kernel has no ipip). */
  ensureIpip(spec: IpipSpec & { readonly mtu?: number }, opts?: CallOptions): Promise<EnsureIpipResult>;
  linkByName(name: string, opts?: CallOptions): Promise<Link>;
  linkByIndex(index: number, opts?: CallOptions): Promise<Link>;
  listLinks(opts?: CallOptions): Promise<Link[]>;
  deleteLink(name: string, opts?: CallOptions): Promise<void>;
  setLinkUp(index: number, opts?: CallOptions): Promise<void>;
  setLinkMtu(index: number, mtu: number, opts?: CallOptions): Promise<void>;
  setLinkHardwareAddr(index: number, mac: string, opts?: CallOptions): Promise<void>;

  ensureAddress(address: AddressSpec, opts?: CallOptions): Promise<void>;
  deleteAddress(address: AddressSpec, opts?: CallOptions): Promise<void>;
  listAddresses(filter?: AddressFilter, opts?: CallOptions): Promise<InterfaceAddress[]>;

  replaceRoutes(routes: readonly Route[], opts?: CallOptions): Promise<void>;
  deleteRoutes(routes: readonly Route[], opts?: CallOptions): Promise<void>;
  listRoutes(filter?: RouteFilter, opts?: CallOptions): Promise<Route[]>;
  getRoute(dst: IPAddress, opts?: CallOptions): Promise<Route>;

  replaceNeighbors(neighbors: readonly Neighbor[], opts?: CallOptions): Promise<void>;
  deleteNeighbors(neighbors: readonly Neighbor[], opts?: CallOptions): Promise<void>;
  listNeighbors(filter?: NeighborFilter, opts?: CallOptions): Promise<Neighbor[]>;

  replaceFdb(entries: readonly FdbEntry[], opts?: CallOptions): Promise<void>;
  deleteFdb(entries: readonly FdbEntry[], opts?: CallOptions): Promise<void>;
  listFdb(filter?: FdbFilter, opts?: CallOptions): Promise<FdbEntry[]>;

  listInterfaces(opts?: CallOptions): Promise<InterfaceInfo[]>;
  defaultRouteInterface(family?: Family, opts?: CallOptions): Promise<DefaultRouteInterface | undefined>;
  interfaceByAddress(ip: IPAddress, opts?: CallOptions): Promise<InterfaceInfo | undefined>;

  /** Kernel change events until the signal aborts; `overflow` means re-list. */
  subscribe(groups: readonly KernelEventGroup[], opts: { signal: AbortSignal }): AsyncIterable<KernelEvent>;
}

/** KernelOps over one rtnetlink socket in the process's network namespace. */
export class NetlinkKernel implements KernelOps {
  constructor(private readonly nl: NetlinkSocket = NetlinkSocket.open()) {}

  close(): void {
    this.nl.close();
  }

  ensureVxlan(spec: VxlanSpec, opts?: CallOptions): Promise<EnsureVxlanResult> {
    return ensureVxlan(this.nl, spec, opts);
  }
  addLink(spec: LinkSpec, opts?: CallOptions): Promise<Link> {
    return addLink(this.nl, spec, opts);
  }
  ensureIpip(spec: IpipSpec & { readonly mtu?: number }, opts?: CallOptions): Promise<EnsureIpipResult> {
    return ensureIpip(this.nl, spec, opts);
  }
  linkByName(name: string, opts?: CallOptions): Promise<Link> {
    return linkByName(this.nl, name, opts);
  }
  linkByIndex(index: number, opts?: CallOptions): Promise<Link> {
    return linkByIndex(this.nl, index, opts);
  }
  listLinks(opts?: CallOptions): Promise<Link[]> {
    return listLinks(this.nl, opts);
  }
  deleteLink(name: string, opts?: CallOptions): Promise<void> {
    return deleteLink(this.nl, name, opts);
  }
  setLinkUp(index: number, opts?: CallOptions): Promise<void> {
    return setLinkUp(this.nl, index, opts);
  }
  setLinkMtu(index: number, mtu: number, opts?: CallOptions): Promise<void> {
    return setLinkMtu(this.nl, index, mtu, opts);
  }
  setLinkHardwareAddr(index: number, mac: string, opts?: CallOptions): Promise<void> {
    return setLinkHardwareAddr(this.nl, index, mac, opts);
  }

  ensureAddress(address: AddressSpec, opts?: CallOptions): Promise<void> {
    return ensureAddress(this.nl, address, opts);
  }
  deleteAddress(address: AddressSpec, opts?: CallOptions): Promise<void> {
    return deleteAddress(this.nl, address, opts);
  }
  listAddresses(filter?: AddressFilter, opts?: CallOptions): Promise<InterfaceAddress[]> {
    return listAddresses(this.nl, filter, opts);
  }

  replaceRoutes(routes: readonly Route[], opts?: CallOptions): Promise<void> {
    return replaceRoutes(this.nl, routes, opts);
  }
  deleteRoutes(routes: readonly Route[], opts?: CallOptions): Promise<void> {
    return deleteRoutes(this.nl, routes, opts);
  }
  listRoutes(filter?: RouteFilter, opts?: CallOptions): Promise<Route[]> {
    return listRoutes(this.nl, filter, opts);
  }
  getRoute(dst: IPAddress, opts?: CallOptions): Promise<Route> {
    return getRoute(this.nl, dst, opts);
  }

  replaceNeighbors(neighbors: readonly Neighbor[], opts?: CallOptions): Promise<void> {
    return replaceNeighbors(this.nl, neighbors, opts);
  }
  deleteNeighbors(neighbors: readonly Neighbor[], opts?: CallOptions): Promise<void> {
    return deleteNeighbors(this.nl, neighbors, opts);
  }
  listNeighbors(filter?: NeighborFilter, opts?: CallOptions): Promise<Neighbor[]> {
    return listNeighbors(this.nl, filter, opts);
  }

  replaceFdb(entries: readonly FdbEntry[], opts?: CallOptions): Promise<void> {
    return replaceFdb(this.nl, entries, opts);
  }
  deleteFdb(entries: readonly FdbEntry[], opts?: CallOptions): Promise<void> {
    return deleteFdb(this.nl, entries, opts);
  }
  listFdb(filter?: FdbFilter, opts?: CallOptions): Promise<FdbEntry[]> {
    return listFdb(this.nl, filter, opts);
  }

  listInterfaces(opts?: CallOptions): Promise<InterfaceInfo[]> {
    return listInterfaces(this.nl, opts);
  }
  defaultRouteInterface(family?: Family, opts?: CallOptions): Promise<DefaultRouteInterface | undefined> {
    return defaultRouteInterface(this.nl, family, opts);
  }
  interfaceByAddress(ip: IPAddress, opts?: CallOptions): Promise<InterfaceInfo | undefined> {
    return interfaceByAddress(this.nl, ip, opts);
  }

  subscribe(groups: readonly KernelEventGroup[], opts: { signal: AbortSignal }): AsyncIterable<KernelEvent> {
    return subscribe(groups, opts);
  }
}
