import type { Family, IPAddress } from '../ip/ip-address.js';
import { listAddresses, type InterfaceAddress } from './address.js';
import { linkByIndex, listLinks, type Link } from './link.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';
import { listRoutes, type Route } from './route.js';

/** A link with its addresses: what interface selection looks at. */
export interface InterfaceInfo {
  link: Link;
  addresses: InterfaceAddress[];
}

/** The interface of the default route and that route (its gateway, metric). */
export interface DefaultRouteInterface {
  link: Link;
  route: Route;
}

/** Equivalent to: `ip addr show` (links with their MTU and addresses, in index order). */
export async function listInterfaces(nl: NetlinkSocket, opts: CallOptions = {}): Promise<InterfaceInfo[]> {
  const links = await listLinks(nl, opts);
  const addrs = await listAddresses(nl, {}, opts);
  const byIndex = new Map<number, InterfaceAddress[]>();
  for (const a of addrs) {
    const list = byIndex.get(a.linkIndex);
    if (list) list.push(a);
    else byIndex.set(a.linkIndex, [a]);
  }
  return links
    .sort((a, b) => a.index - b.index)
    .map((link) => ({ link, addresses: byIndex.get(link.index) ?? [] }));
}

/**
 * The interface of the default route in the main table (lowest metric first), as flannel's
 * GetDefaultGatewayInterface; undefined when there is no default route with a device.
 * Equivalent to: `ip [-6] route show default`, then `ip link show` of its device.
 */
export async function defaultRouteInterface(
  nl: NetlinkSocket,
  family: Family = 4,
  opts: CallOptions = {},
): Promise<DefaultRouteInterface | undefined> {
  const routes = await listRoutes(nl, { family }, opts);
  const defaults = routes
    .filter((r) => r.dst.prefixLength === 0 && r.linkIndex !== undefined)
    .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
  const route = defaults[0];
  if (!route || route.linkIndex === undefined) return undefined;
  return { link: await linkByIndex(nl, route.linkIndex, opts), route };
}

/** The interface that holds `ip` (flannel's GetInterfaceByIP), or undefined. */
export async function interfaceByAddress(nl: NetlinkSocket, ip: IPAddress, opts: CallOptions = {}): Promise<InterfaceInfo | undefined> {
  const all = await listInterfaces(nl, opts);
  return all.find((i) => i.addresses.some((a) => a.ip.equals(ip)));
}
