import { FlannelError } from '../errors.js';
import type { IPAddress } from '../ip/ip-address.js';
import { isExists, kernelError, Errno } from './kernel-errors.js';
import { deleteLink, encodeIfinfo, parseLink, setLinkMtu, type Link } from './link.js';
import { AttrWriter, ipFromBytes, parseAttrs, readString, readU8, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

/** IFLA_TXQLEN (linux/if_link.h). */
const IFLA_TXQLEN = 13;

/** IFLA_IPTUN_* attributes inside IFLA_INFO_DATA of an ipip link (linux/if_tunnel.h). */
export const IFLA_IPTUN = {
  LINK: 1,
  LOCAL: 2,
  REMOTE: 3,
  TTL: 4,
  TOS: 5,
  PROTO: 9,
  PMTUDISC: 10,
  ENCAP_TYPE: 15,
  ENCAP_FLAGS: 16,
  ENCAP_SPORT: 17,
  ENCAP_DPORT: 18,
} as const;

/** An ipip tunnel as flannel makes it: a name and a local address; no remote (one to many). */
export interface IpipSpec {
  readonly name: string;
  readonly local?: IPAddress;
}

/** The ipip part of a link (IFLA_INFO_DATA). */
export interface IpipInfo {
  readonly local?: IPAddress;
  readonly remote?: IPAddress;
  readonly ttl: number;
  readonly tos: number;
  readonly pmtudisc: boolean;
}

/** `ip link` words for an ipip spec, for messages. */
export function describeIpip(s: IpipSpec): string {
  return `${s.name} type ipip${s.local ? ` local ${s.local.toString()}` : ''} ttl inherit nopmtudisc`;
}

/**
 * The RTM_NEWLINK body flannel's netlink library sends for its ipip device (an Iptun with a name
 * and a local address), attribute for attribute: ifinfomsg (AF_UNSPEC), IFLA_IFNAME, IFLA_TXQLEN
 * 0, IFLA_LINKINFO { IFLA_INFO_KIND "ipip" (no NUL), IFLA_INFO_DATA { LOCAL, PMTUDISC 0, TTL 0,
 * TOS 0, ENCAP_TYPE 0, ENCAP_FLAGS 0, ENCAP_SPORT 0, ENCAP_DPORT 0, PROTO 0 } }. So the device
 * has ttl inherit and path MTU discovery off, as under Go flannel.
 */
export function encodeIpip(s: IpipSpec): Buffer {
  const w = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, s.name).u32(IFLA_TXQLEN, 0);
  w.nested(C.IFLA_LINKINFO, (li) => {
    li.bytes(C.IFLA_INFO_KIND, Buffer.from('ipip'));
    li.nested(C.IFLA_INFO_DATA, (d) => {
      if (s.local?.family === 4) d.ip(IFLA_IPTUN.LOCAL, s.local);
      d.u8(IFLA_IPTUN.PMTUDISC, 0);
      d.u8(IFLA_IPTUN.TTL, 0);
      d.u8(IFLA_IPTUN.TOS, 0);
      d.u16(IFLA_IPTUN.ENCAP_TYPE, 0);
      d.u16(IFLA_IPTUN.ENCAP_FLAGS, 0);
      d.be16(IFLA_IPTUN.ENCAP_SPORT, 0);
      d.be16(IFLA_IPTUN.ENCAP_DPORT, 0);
      d.u8(IFLA_IPTUN.PROTO, 0);
    });
  });
  return w.toBuffer();
}

/** The ipip attributes of an RTM_NEWLINK message, or undefined when the link is no ipip link. */
export function parseIpipInfo(msg: NetlinkMessage): IpipInfo | undefined {
  const info = parseAttrs(msg.payload, 16).get(C.IFLA_LINKINFO);
  if (!info) return undefined;
  const li = parseAttrs(info);
  if (readString(li.get(C.IFLA_INFO_KIND)) !== 'ipip') return undefined;
  const d = parseAttrs(li.get(C.IFLA_INFO_DATA) ?? Buffer.alloc(0));
  const out: { -readonly [K in keyof IpipInfo]: IpipInfo[K] } = {
    ttl: readU8(d.get(IFLA_IPTUN.TTL)) ?? 0,
    tos: readU8(d.get(IFLA_IPTUN.TOS)) ?? 0,
    pmtudisc: (readU8(d.get(IFLA_IPTUN.PMTUDISC)) ?? 0) !== 0,
  };
  const local = ipFromBytes(d.get(IFLA_IPTUN.LOCAL));
  if (local && local.value !== 0n) out.local = local;
  const remote = ipFromBytes(d.get(IFLA_IPTUN.REMOTE));
  if (remote && remote.value !== 0n) out.remote = remote;
  return out;
}

/** A link by name with its ipip attributes. Equivalent to: `ip -d link show $name`. */
export async function ipipLinkByName(nl: NetlinkSocket, name: string, opts: CallOptions = {}): Promise<{ link: Link; ipip: IpipInfo | undefined }> {
  const body = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, name).toBuffer();
  const replies = await nl.request(C.RTM_GETLINK, 0, body, { op: 'get link', object: name }, opts);
  const msg = replies.find((m) => m.type === C.RTM_NEWLINK);
  if (!msg) throw kernelError('get link', name, Errno.ENODEV);
  return { link: parseLink(msg), ipip: parseIpipInfo(msg) };
}

/** A device of the wanted name exists but is not an ipip tunnel: flannel leaves it to the operator. */
export class LinkKindError extends FlannelError {
  constructor(
    readonly device: string,
    readonly kind: string | undefined,
  ) {
    super('ERR_LINK_KIND', `${device} exists but is not an ipip device (kind ${kind ?? 'none'}); remove it and try again`);
  }
}

/**
 * Why an existing ipip link cannot serve as `spec` (flannel's test: local must equal the
 * spec's, remote must be unset or 0.0.0.0), or undefined when it can.
 */
export function ipipIncompatibility(spec: IpipSpec, info: IpipInfo): string | undefined {
  if (spec.local && !(info.local && info.local.equals(spec.local))) return `local: ${spec.local.toString()} vs ${info.local?.toString() ?? 'any'}`;
  if (info.remote) return `remote: any vs ${info.remote.toString()}`;
  return undefined;
}

/** Equivalent to: `ip link add $name type ipip local $local ttl inherit nopmtudisc`. */
export async function addIpip(nl: NetlinkSocket, spec: IpipSpec, opts: CallOptions = {}): Promise<Link> {
  const desc = { op: 'add link', object: describeIpip(spec) };
  await nl.request(C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, encodeIpip(spec), desc, opts);
  return (await ipipLinkByName(nl, spec.name, opts)).link;
}

export interface EnsureIpipResult {
  readonly link: Link;
  readonly created: boolean;
  /** Set when an existing ipip link with other attributes was deleted and re-created. */
  readonly recreatedBecause?: string;
}

/**
 * Creates the ipip device, or keeps an existing one with the right attributes; one with other
 * attributes is deleted and re-created; a device of that name of another kind is a
 * LinkKindError (never deleted). Then sets the MTU when given and different. A kernel without
 * ipip answers the create with EOPNOTSUPP, thrown as a KernelError.
 */
export async function ensureIpip(nl: NetlinkSocket, spec: IpipSpec & { readonly mtu?: number }, opts: CallOptions = {}): Promise<EnsureIpipResult> {
  let result: { link: Link; created: boolean; recreatedBecause?: string };
  try {
    result = { link: await addIpip(nl, spec, opts), created: true };
  } catch (err) {
    if (!isExists(err)) throw err;
    const existing = await ipipLinkByName(nl, spec.name, opts);
    if (!existing.ipip) throw new LinkKindError(spec.name, existing.link.kind);
    const why = ipipIncompatibility(spec, existing.ipip);
    if (why === undefined) result = { link: existing.link, created: false };
    else {
      await deleteLink(nl, spec.name, opts);
      result = { link: await addIpip(nl, spec, opts), created: true, recreatedBecause: why };
    }
  }
  if (spec.mtu !== undefined && result.link.mtu !== spec.mtu) {
    await setLinkMtu(nl, result.link.index, spec.mtu, opts);
    result.link.mtu = spec.mtu;
  }
  return result;
}
