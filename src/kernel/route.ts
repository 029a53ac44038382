import { IPAddress, type Family } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import { AttrIndex } from './attr-index.js';
import { encodeBody, replaceAndDeleteSpecs, runBatch } from './batch.js';
import { Errno, kernelError, NOT_FOUND_ERRNOS } from './kernel-errors.js';
import { MalformedInputError } from '../errors.js';
import { AttrWriter, familyOf, ipFamilyOf, needHeader, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

/** A route (RTM_NEWROUTE). `dst` 0.0.0.0/0 (or ::/0) is the default route. */
export interface Route {
  dst: IPNetwork;
  gateway?: IPAddress;
  linkIndex?: number;
  /** RTNH_F_ONLINK: the gateway is reachable on the link without a covering route. */
  onlink?: boolean;
  /** Routing table; default 254 (main). */
  table?: number;
  /** RT_SCOPE_*; default: link (253) without a gateway, universe (0) with one. */
  scope?: number;
  /** RTPROT_*; default boot (3), as `ip route` uses. */
  protocol?: number;
  /** Metric. */
  priority?: number;
  /** Preferred source address. */
  src?: IPAddress;
  /** RTN_*; default unicast (1). */
  type?: number;
}

export interface RouteFilter {
  family?: Family;
  /** Default 254 (main); 0 means every table. */
  table?: number;
  linkIndex?: number;
  dst?: IPNetwork;
  /**
   * Sees each route the other criteria let through, as the dump reads it; false leaves it out.
   * A caller that settles routes here (a reconcile matching them against the wanted ones) keeps
   * only the few it still needs: the others are garbage at once, not an array of thousands.
   */
  keep?: (r: Route) => boolean;
}

/** The rtmsg header and attributes of a route request, written into `w`. */
function writeRoute(w: AttrWriter, r: Route, del: boolean): void {
  const table = r.table ?? C.RT_TABLE_MAIN;
  const at = w.fixed(12);
  w.setU8(at, familyOf(r.dst.ip));
  w.setU8(at + 1, r.dst.prefixLength);
  w.setU8(at + 4, table < 256 ? table : C.RT_TABLE_UNSPEC);
  if (del) {
    // As `ip route del`: any protocol, any scope, any type matches.
    w.setU8(at + 5, C.RTPROT_UNSPEC);
    w.setU8(at + 6, C.RT_SCOPE_NOWHERE);
    w.setU8(at + 7, C.RTN_UNSPEC);
  } else {
    w.setU8(at + 5, r.protocol ?? C.RTPROT_BOOT);
    w.setU8(at + 6, r.scope ?? (r.gateway ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK));
    w.setU8(at + 7, r.type ?? C.RTN_UNICAST);
    w.setU32(at + 8, r.onlink ? C.RTNH_F_ONLINK : 0);
  }
  if (r.dst.prefixLength > 0) w.ip(C.RTA_DST, r.dst.ip);
  w.u32(C.RTA_TABLE, table);
  if (r.gateway) w.ip(C.RTA_GATEWAY, r.gateway);
  if (r.linkIndex) w.u32(C.RTA_OIF, r.linkIndex);
  if (r.priority !== undefined) w.u32(C.RTA_PRIORITY, r.priority);
  if (r.src && !del) w.ip(C.RTA_PREFSRC, r.src);
}

/** `ip route` words for a route, for messages: "10.244.3.0/24 via 10.244.3.0 dev #4 onlink". */
export function describeRoute(r: Route): string {
  const words = [r.dst.prefixLength === 0 ? 'default' : r.dst.toString()];
  if (r.gateway) words.push(`via ${r.gateway.toString()}`);
  if (r.linkIndex) words.push(`dev #${r.linkIndex}`);
  if (r.onlink) words.push('onlink');
  if (r.table !== undefined && r.table !== C.RT_TABLE_MAIN) words.push(`table ${r.table}`);
  if (r.priority !== undefined) words.push(`metric ${r.priority}`);
  return words.join(' ');
}

/** Parses RTM_NEWROUTE/RTM_DELROUTE; undefined for families other than IPv4/IPv6. */
export function parseRoute(msg: NetlinkMessage): Route | undefined {
  return routeFrom(msg.payload, new AttrIndex(ROUTE_ATTR_MAX).scan(msg.payload, 12));
}

/** The highest RTA_* type parseRoute reads. */
const ROUTE_ATTR_MAX = C.RTA_TABLE;

/** parseRoute() of an rtmsg payload whose attributes `attrs` (reused across a dump) has scanned. */
function routeFrom(p: Buffer, attrs: AttrIndex): Route | undefined {
  needHeader(p, 12, 'route');
  const family = ipFamilyOf(p.readUInt8(0));
  if (!family) return undefined;
  const dstIp = attrs.ip(C.RTA_DST) ?? IPAddress.of(family, 0n);
  const dstLen = p.readUInt8(1);
  if (dstLen > dstIp.bits) throw new MalformedInputError('netlink route message', 'rtm_dst_len', dstLen, `longer than the ${dstIp.bits} bits of its destination ${dstIp.toString()}`);
  const route: Route = {
    dst: IPNetwork.of(dstIp, dstLen),
    table: attrs.u32(C.RTA_TABLE) ?? p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
  };
  const flags = p.readUInt32LE(8);
  if (flags & C.RTNH_F_ONLINK) route.onlink = true;
  const gw = attrs.ip(C.RTA_GATEWAY);
  if (gw) route.gateway = gw;
  const oif = attrs.u32(C.RTA_OIF);
  if (oif) route.linkIndex = oif;
  const prio = attrs.u32(C.RTA_PRIORITY);
  if (prio !== undefined) route.priority = prio;
  const src = attrs.ip(C.RTA_PREFSRC);
  if (src) route.src = src;
  return route;
}

const { replace: REPLACE, delete: DELETE } = replaceAndDeleteSpecs<Route>({
  noun: 'route',
  newType: C.RTM_NEWROUTE,
  delType: C.RTM_DELROUTE,
  write: writeRoute,
  describe: describeRoute,
});

/** Equivalent to: `ip route replace $dst via $gw dev $dev [onlink] [table $t]`. */
export async function replaceRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  await nl.request(REPLACE.type, REPLACE.flags, encodeBody(REPLACE, r), { op: REPLACE.op, object: describeRoute(r) }, opts);
}

/** Equivalent to: `ip route add $dst via $gw dev $dev [onlink]`; a route already there (EEXIST) is an error. */
export async function addRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  const body = encodeBody(REPLACE, r);
  await nl.request(C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_EXCL, body, { op: 'add route', object: describeRoute(r) }, opts);
}

/** `ip route replace` for each route, pipelined. Throws KernelBatchError listing the failures. */
export function replaceRoutes(nl: NetlinkSocket, routes: readonly Route[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, routes, REPLACE, opts);
}

/** Equivalent to: `ip route del $dst [via $gw] [dev $dev] [table $t]`; a route that is not there is success. */
export async function deleteRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  const desc = { op: DELETE.op, object: describeRoute(r) };
  await nl.requestAllowing(NOT_FOUND_ERRNOS, DELETE.type, DELETE.flags, encodeBody(DELETE, r), desc, opts);
}

/** `ip route del` for each route, pipelined; routes not there are success. Throws KernelBatchError. */
export function deleteRoutes(nl: NetlinkSocket, routes: readonly Route[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, routes, DELETE, opts);
}

/** Equivalent to: `ip [-4|-6] route show [table $t] [dev $dev]` (cache clones left out). */
export async function listRoutes(nl: NetlinkSocket, filter: RouteFilter = {}, opts: CallOptions = {}): Promise<Route[]> {
  const af = filter.family === 4 ? C.AF_INET : filter.family === 6 ? C.AF_INET6 : C.AF_UNSPEC;
  const head = Buffer.alloc(12);
  head.writeUInt8(af, 0);
  const table = filter.table ?? C.RT_TABLE_MAIN;
  const attrs = new AttrIndex(ROUTE_ATTR_MAX);
  // Routes are built only for the messages the filter keeps (family, table, device are checked on the wire).
  return nl.dumpParsed(C.RTM_GETROUTE, head, { op: 'list routes', object: 'all' }, opts, (m) => {
    const p = m.payload;
    needHeader(p, 12, 'route');
    if (m.type !== C.RTM_NEWROUTE || p.readUInt32LE(8) & C.RTM_F_CLONED) return undefined;
    const family = ipFamilyOf(p.readUInt8(0));
    if (!family || (filter.family !== undefined && family !== filter.family)) return undefined;
    attrs.scan(p, 12);
    if (table !== 0 && (attrs.u32(C.RTA_TABLE) ?? p.readUInt8(4)) !== table) return undefined;
    if (filter.linkIndex !== undefined && (attrs.u32(C.RTA_OIF) || undefined) !== filter.linkIndex) return undefined;
    const r = routeFrom(p, attrs);
    if (!r || (filter.dst && !filter.dst.equals(r.dst)) || (filter.keep && !filter.keep(r))) return undefined;
    return r;
  });
}

/**
 * Equivalent to: `ip route get $dst`: the route the kernel would use, with the output link,
 * gateway and preferred source filled in. Throws KernelError (ENETUNREACH) when there is none.
 */
export async function getRoute(nl: NetlinkSocket, dst: IPAddress, opts: CallOptions = {}): Promise<Route> {
  const head = Buffer.alloc(12);
  head.writeUInt8(familyOf(dst), 0);
  head.writeUInt8(dst.bits, 1);
  const body = new AttrWriter(head).ip(C.RTA_DST, dst).toBuffer();
  const desc = { op: 'get route', object: dst.toString() };
  const replies = await nl.request(C.RTM_GETROUTE, 0, body, desc, opts);
  const msg = replies.find((m) => m.type === C.RTM_NEWROUTE);
  const route = msg ? parseRoute(msg) : undefined;
  if (!route) throw kernelError(desc.op, desc.object, Errno.ENETUNREACH, { notFound: false });
  return route;
}
