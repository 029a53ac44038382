import type { IPAddress } from '../ip/ip-address.js';
import { Errno, isExists, kernelError, NOT_FOUND_ERRNOS } from './kernel-errors.js';
import { formatMac, parseMac } from './mac-address.js';
import { AttrWriter, ipFromBytes, needHeader, parseAttrs, readString, readU32, readU8, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

/** A network interface as the kernel reports it (RTM_NEWLINK). */
export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* (1 ether, 772 loopback). */
  type: number;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff" for Ethernet-like links. */
  hardwareAddr?: string;
  /** IFLA_INFO_KIND: "vxlan", "veth", "bridge"...; undefined for physical devices. */
  kind?: string;
  /** IFLA_LINK: the parent/peer link index. */
  parentIndex?: number;
  masterIndex?: number;
  /** IF_OPER_* (6 = up). */
  operState?: number;
  vxlan?: VxlanInfo;
}

/** The vxlan part of a link (IFLA_INFO_DATA). */
export interface VxlanInfo {
  vni: number;
  port?: number;
  local?: IPAddress;
  group?: IPAddress;
  /** IFLA_VXLAN_LINK: the underlay device index. */
  deviceIndex?: number;
  learning: boolean;
  gbp: boolean;
  l2miss: boolean;
  l3miss: boolean;
}

/** What `ensureVxlan` creates. `learning` defaults to false (nolearning), as flannel does. */
export interface VxlanSpec {
  name: string;
  vni: number;
  port?: number;
  local?: IPAddress;
  deviceIndex?: number;
  learning?: boolean;
  gbp?: boolean;
  hardwareAddr?: string;
  mtu?: number;
}

export function encodeIfinfo(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(C.AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

export function parseLink(msg: NetlinkMessage): Link {
  const p = msg.payload;
  needHeader(p, 16, 'link');
  const attrs = parseAttrs(p, 16);
  const flags = p.readUInt32LE(8);
  const link: Link = {
    index: p.readInt32LE(4),
    name: readString(attrs.get(C.IFLA_IFNAME)) ?? '',
    type: p.readUInt16LE(2),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    mtu: readU32(attrs.get(C.IFLA_MTU)) ?? 0,
  };
  const hw = attrs.get(C.IFLA_ADDRESS);
  if (hw && hw.length > 0) link.hardwareAddr = formatMac(hw);
  const parent = readU32(attrs.get(C.IFLA_LINK));
  if (parent !== undefined) link.parentIndex = parent;
  const master = readU32(attrs.get(C.IFLA_MASTER));
  if (master !== undefined) link.masterIndex = master;
  const oper = readU8(attrs.get(C.IFLA_OPERSTATE));
  if (oper !== undefined) link.operState = oper;
  const info = attrs.get(C.IFLA_LINKINFO);
  if (info) {
    const infoAttrs = parseAttrs(info);
    link.kind = readString(infoAttrs.get(C.IFLA_INFO_KIND));
    const data = infoAttrs.get(C.IFLA_INFO_DATA);
    if (link.kind === 'vxlan' && data) link.vxlan = parseVxlan(data);
  }
  return link;
}

function parseVxlan(data: Buffer): VxlanInfo {
  const a = parseAttrs(data);
  const port = a.get(C.IFLA_VXLAN_PORT);
  const info: VxlanInfo = {
    vni: readU32(a.get(C.IFLA_VXLAN_ID)) ?? 0,
    learning: readU8(a.get(C.IFLA_VXLAN_LEARNING)) === 1,
    gbp: a.has(C.IFLA_VXLAN_GBP),
    l2miss: readU8(a.get(C.IFLA_VXLAN_L2MISS)) === 1,
    l3miss: readU8(a.get(C.IFLA_VXLAN_L3MISS)) === 1,
  };
  if (port && port.length >= 2) info.port = port.readUInt16BE(0);
  const local = ipFromBytes(a.get(C.IFLA_VXLAN_LOCAL)) ?? ipFromBytes(a.get(C.IFLA_VXLAN_LOCAL6));
  if (local) info.local = local;
  const group = ipFromBytes(a.get(C.IFLA_VXLAN_GROUP)) ?? ipFromBytes(a.get(C.IFLA_VXLAN_GROUP6));
  if (group) info.group = group;
  const dev = readU32(a.get(C.IFLA_VXLAN_LINK));
  if (dev) info.deviceIndex = dev;
  return info;
}

/** `ip link` words for a vxlan spec, for messages. */
export function describeVxlan(s: VxlanSpec): string {
  const words = [`${s.name} type vxlan id ${s.vni}`];
  if (s.deviceIndex) words.push(`dev #${s.deviceIndex}`);
  if (s.local) words.push(`local ${s.local.toString()}`);
  if (s.port !== undefined) words.push(`dstport ${s.port}`);
  words.push(s.learning ? 'learning' : 'nolearning');
  if (s.gbp) words.push('gbp');
  if (s.hardwareAddr) words.push(`address ${s.hardwareAddr}`);
  if (s.mtu !== undefined) words.push(`mtu ${s.mtu}`);
  return words.join(' ');
}

function encodeVxlan(s: VxlanSpec): Buffer {
  const w = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, s.name);
  if (s.mtu !== undefined) w.u32(C.IFLA_MTU, s.mtu);
  if (s.hardwareAddr) w.bytes(C.IFLA_ADDRESS, parseMac(s.hardwareAddr));
  w.nested(C.IFLA_LINKINFO, (li) => {
    li.str(C.IFLA_INFO_KIND, 'vxlan');
    li.nested(C.IFLA_INFO_DATA, (d) => {
      d.u32(C.IFLA_VXLAN_ID, s.vni);
      if (s.deviceIndex) d.u32(C.IFLA_VXLAN_LINK, s.deviceIndex);
      if (s.local) d.ip(s.local.family === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, s.local);
      d.u8(C.IFLA_VXLAN_LEARNING, s.learning ? 1 : 0);
      if (s.port !== undefined) d.be16(C.IFLA_VXLAN_PORT, s.port);
      if (s.gbp) d.flag(C.IFLA_VXLAN_GBP);
    });
  });
  return w.toBuffer();
}

/**
 * Why an existing link cannot serve as the vxlan device `spec` (flannel's vxlanLinksIncompat:
 * kind, VNI, underlay device, local address, port, gbp), or undefined when it can.
 */
export function vxlanIncompatibility(spec: VxlanSpec, link: Link): string | undefined {
  const v = link.vxlan;
  if (link.kind !== 'vxlan' || !v) return `link type: vxlan vs ${link.kind ?? 'device'}`;
  if (v.vni !== spec.vni) return `vni: ${spec.vni} vs ${v.vni}`;
  if (spec.deviceIndex && v.deviceIndex && spec.deviceIndex !== v.deviceIndex) {
    return `vtep (external) interface: ${spec.deviceIndex} vs ${v.deviceIndex}`;
  }
  if (spec.local && v.local && !spec.local.equals(v.local)) {
    return `vtep (external) IP: ${spec.local.toString()} vs ${v.local.toString()}`;
  }
  if (v.l2miss) return 'l2miss: false vs true';
  if (spec.port && v.port && spec.port !== v.port) return `port: ${spec.port} vs ${v.port}`;
  if ((spec.gbp ?? false) !== v.gbp) return `gbp: ${spec.gbp ?? false} vs ${v.gbp}`;
  return undefined;
}

/** Equivalent to: `ip link add $name type vxlan id $vni dev $dev local $local dstport $port nolearning [gbp] address $mac mtu $mtu`. */
export async function addVxlan(nl: NetlinkSocket, spec: VxlanSpec, opts: CallOptions = {}): Promise<Link> {
  const desc = { op: 'add link', object: describeVxlan(spec) };
  await nl.request(C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, encodeVxlan(spec), desc, opts);
  return linkByName(nl, spec.name, opts);
}

export interface EnsureVxlanResult {
  link: Link;
  created: boolean;
  /** Set when an existing, incompatible link of that name was deleted and re-created. */
  recreatedBecause?: string;
}

/**
 * Creates the vxlan device, or keeps an existing compatible one (its MAC is kept; its MTU is
 * set to `spec.mtu` when that differs). An incompatible one is deleted and re-created.
 * Equivalent to: `ip link add $name type vxlan ...` where "exists and compatible" is success.
 */
export async function ensureVxlan(nl: NetlinkSocket, spec: VxlanSpec, opts: CallOptions = {}): Promise<EnsureVxlanResult> {
  try {
    return { link: await addVxlan(nl, spec, opts), created: true };
  } catch (err) {
    if (!isExists(err)) throw err;
  }
  const existing = await linkByName(nl, spec.name, opts);
  const why = vxlanIncompatibility(spec, existing);
  if (why === undefined) {
    if (spec.mtu !== undefined && existing.mtu !== spec.mtu) {
      await setLinkMtu(nl, existing.index, spec.mtu, opts);
      existing.mtu = spec.mtu;
    }
    return { link: existing, created: false };
  }
  await deleteLink(nl, spec.name, opts);
  return { link: await addVxlan(nl, spec, opts), created: true, recreatedBecause: why };
}

/** Equivalent to: `ip link show $name`. Throws KernelNotFoundError (ENODEV) when absent. */
export async function linkByName(nl: NetlinkSocket, name: string, opts: CallOptions = {}): Promise<Link> {
  const body = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, name).toBuffer();
  const replies = await nl.request(C.RTM_GETLINK, 0, body, { op: 'get link', object: name }, opts);
  return firstLink(replies, name);
}

/** Equivalent to: `ip link show` for one index. Throws KernelNotFoundError (ENODEV) when absent. */
export async function linkByIndex(nl: NetlinkSocket, index: number, opts: CallOptions = {}): Promise<Link> {
  const replies = await nl.request(C.RTM_GETLINK, 0, encodeIfinfo(index), { op: 'get link', object: `#${index}` }, opts);
  return firstLink(replies, `#${index}`);
}

function firstLink(replies: NetlinkMessage[], what: string): Link {
  const msg = replies.find((m) => m.type === C.RTM_NEWLINK);
  if (!msg) throw kernelError('get link', what, Errno.ENODEV);
  return parseLink(msg);
}

/** Equivalent to: `ip link show`. */
export async function listLinks(nl: NetlinkSocket, opts: CallOptions = {}): Promise<Link[]> {
  const replies = await nl.dump(C.RTM_GETLINK, encodeIfinfo(0), { op: 'list links', object: 'all' }, opts);
  return replies.filter((m) => m.type === C.RTM_NEWLINK).map(parseLink);
}

/** Equivalent to: `ip link delete $name`; a link that does not exist is success. */
export async function deleteLink(nl: NetlinkSocket, name: string, opts: CallOptions = {}): Promise<void> {
  const body = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, name).toBuffer();
  await nl.requestAllowing(NOT_FOUND_ERRNOS, C.RTM_DELLINK, 0, body, { op: 'delete link', object: name }, opts);
}

/** Equivalent to: `ip link set dev $dev up`. */
export async function setLinkUp(nl: NetlinkSocket, index: number, opts: CallOptions = {}): Promise<void> {
  await nl.request(C.RTM_NEWLINK, 0, encodeIfinfo(index, C.IFF_UP, C.IFF_UP), { op: 'set link up', object: `#${index}` }, opts);
}

/** Equivalent to: `ip link set dev $dev down`. */
export async function setLinkDown(nl: NetlinkSocket, index: number, opts: CallOptions = {}): Promise<void> {
  await nl.request(C.RTM_NEWLINK, 0, encodeIfinfo(index, 0, C.IFF_UP), { op: 'set link down', object: `#${index}` }, opts);
}

/** Equivalent to: `ip link set dev $dev mtu $mtu`. */
export async function setLinkMtu(nl: NetlinkSocket, index: number, mtu: number, opts: CallOptions = {}): Promise<void> {
  const body = new AttrWriter(encodeIfinfo(index)).u32(C.IFLA_MTU, mtu).toBuffer();
  await nl.request(C.RTM_NEWLINK, 0, body, { op: 'set link mtu', object: `#${index} mtu ${mtu}` }, opts);
}

/** Equivalent to: `ip link set dev $dev address $mac`. */
export async function setLinkHardwareAddr(nl: NetlinkSocket, index: number, mac: string, opts: CallOptions = {}): Promise<void> {
  const body = new AttrWriter(encodeIfinfo(index)).bytes(C.IFLA_ADDRESS, parseMac(mac)).toBuffer();
  await nl.request(C.RTM_NEWLINK, 0, body, { op: 'set link address', object: `#${index} address ${mac}` }, opts);
}
