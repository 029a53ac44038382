import { IPAddress, type Family } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import { runBatch, type BatchSpec } from './batch.js';
import { Errno, kernelError, NOT_FOUND_ERRNOS } from './kernel-errors.js';
import { AttrWriter, familyOf, ipFamilyOf, ipFromBytes, parseAttrs, readU32, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { BatchRequest, CallOptions, NetlinkSocket } from './netlink-socket.js';

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
}

function encodeRtmsg(r: Route, del: boolean): Buffer {
  const table = r.table ?? C.RT_TABLE_MAIN;
  const b = Buffer.alloc(12);
  b.writeUInt8(familyOf(r.dst.ip), 0);
  b.writeUInt8(r.dst.prefixLength, 1);
  b.writeUInt8(table < 256 ? table : C.RT_TABLE_UNSPEC, 4);
  if (del) {
    // As `ip route del`: any protocol, any scope, any type matches.
    b.writeUInt8(C.RTPROT_UNSPEC, 5);
    b.writeUInt8(C.RT_SCOPE_NOWHERE, 6);
    b.writeUInt8(C.RTN_UNSPEC, 7);
  } else {
    b.writeUInt8(r.protocol ?? C.RTPROT_BOOT, 5);
    b.writeUInt8(r.scope ?? (r.gateway ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK), 6);
    b.writeUInt8(r.type ?? C.RTN_UNICAST, 7);
    b.writeUInt32LE(r.onlink ? C.RTNH_F_ONLINK : 0, 8);
  }
  return b;
}

function encodeRoute(r: Route, del: boolean): Buffer {
  const w = new AttrWriter(encodeRtmsg(r, del));
  if (r.dst.prefixLength > 0) w.ip(C.RTA_DST, r.dst.ip);
  w.u32(C.RTA_TABLE, r.table ?? C.RT_TABLE_MAIN);
  if (r.gateway) w.ip(C.RTA_GATEWAY, r.gateway);
  if (r.linkIndex) w.u32(C.RTA_OIF, r.linkIndex);
  if (r.priority !== undefined) w.u32(C.RTA_PRIORITY, r.priority);
  if (r.src && !del) w.ip(C.RTA_PREFSRC, r.src);
  return w.toBuffer();
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
  const p = msg.payload;
  const family = ipFamilyOf(p.readUInt8(0));
  if (!family) return undefined;
  const attrs = parseAttrs(p, 12);
  const dstIp = ipFromBytes(attrs.get(C.RTA_DST)) ?? IPAddress.of(family, 0n);
  const route: Route = {
    dst: IPNetwork.of(dstIp, p.readUInt8(1)),
    table: readU32(attrs.get(C.RTA_TABLE)) ?? p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
  };
  const flags = p.readUInt32LE(8);
  if (flags & C.RTNH_F_ONLINK) route.onlink = true;
  const gw = ipFromBytes(attrs.get(C.RTA_GATEWAY));
  if (gw) route.gateway = gw;
  const oif = readU32(attrs.get(C.RTA_OIF));
  if (oif) route.linkIndex = oif;
  const prio = readU32(attrs.get(C.RTA_PRIORITY));
  if (prio !== undefined) route.priority = prio;
  const src = ipFromBytes(attrs.get(C.RTA_PREFSRC));
  if (src) route.src = src;
  return route;
}

const REPLACE: BatchSpec<Route> = {
  op: 'replace route',
  encode: (r): BatchRequest => ({ type: C.RTM_NEWROUTE, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, body: encodeRoute(r, false) }),
  describe: describeRoute,
};

const DELETE: BatchSpec<Route> = {
  op: 'delete route',
  encode: (r): BatchRequest => ({ type: C.RTM_DELROUTE, flags: 0, body: encodeRoute(r, true) }),
  describe: describeRoute,
  okErrnos: NOT_FOUND_ERRNOS,
};

/** Equivalent to: `ip route replace $dst via $gw dev $dev [onlink] [table $t]`. */
export async function replaceRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  const req = REPLACE.encode(r);
  await nl.request(req.type, req.flags, req.body, { op: REPLACE.op, object: describeRoute(r) }, opts);
}

/** Equivalent to: `ip route add $dst via $gw dev $dev [onlink]`; a route already there (EEXIST) is an error. */
export async function addRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  const body = REPLACE.encode(r).body;
  await nl.request(C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_EXCL, body, { op: 'add route', object: describeRoute(r) }, opts);
}

/** `ip route replace` for each route, pipelined. Throws KernelBatchError listing the failures. */
export function replaceRoutes(nl: NetlinkSocket, routes: readonly Route[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, routes, REPLACE, opts);
}

/** Equivalent to: `ip route del $dst [via $gw] [dev $dev] [table $t]`; a route that is not there is success. */
export async function deleteRoute(nl: NetlinkSocket, r: Route, opts: CallOptions = {}): Promise<void> {
  const req = DELETE.encode(r);
  await nl.requestAllowing(NOT_FOUND_ERRNOS, req.type, req.flags, req.body, { op: DELETE.op, object: describeRoute(r) }, opts);
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
  const replies = await nl.dump(C.RTM_GETROUTE, head, { op: 'list routes', object: 'all' }, opts);
  const table = filter.table ?? C.RT_TABLE_MAIN;
  const out: Route[] = [];
  for (const m of replies) {
    if (m.type !== C.RTM_NEWROUTE || m.payload.readUInt32LE(8) & C.RTM_F_CLONED) continue;
    const r = parseRoute(m);
    if (!r) continue;
    if (table !== 0 && r.table !== table) continue;
    if (filter.family !== undefined && r.dst.family !== filter.family) continue;
    if (filter.linkIndex !== undefined && r.linkIndex !== filter.linkIndex) continue;
    if (filter.dst && !filter.dst.equals(r.dst)) continue;
    out.push(r);
  }
  return out;
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
