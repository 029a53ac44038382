import type { Family, IPAddress } from '../ip/ip-address.js';
import { EXISTS, NOT_FOUND_ERRNOS } from './kernel-errors.js';
import { AttrWriter, familyOf, ipFromBytes, needHeader, parseAttrs, readString, readU32, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

/**
 * An address on an interface (RTM_NEWADDR). Unlike IPNetwork the host bits are kept:
 * 10.0.0.5/24 stays 10.0.0.5 with prefixLength 24.
 */
export interface InterfaceAddress {
  linkIndex: number;
  ip: IPAddress;
  prefixLength: number;
  /** RT_SCOPE_* (0 global, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* flags. */
  flags: number;
  label?: string;
  /** The other end of a point-to-point address, when it differs from `ip`. */
  peer?: IPAddress;
}

export interface AddressSpec {
  linkIndex: number;
  ip: IPAddress;
  prefixLength: number;
  /** Default 0 (global). */
  scope?: number;
}

export interface AddressFilter {
  linkIndex?: number;
  family?: Family;
}

function encodeIfaddr(family: number, prefixLength: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLength, 1);
  b.writeUInt8(0, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

function encodeAddress(a: AddressSpec): Buffer {
  const head = encodeIfaddr(familyOf(a.ip), a.prefixLength, a.scope ?? C.RT_SCOPE_UNIVERSE, a.linkIndex);
  return new AttrWriter(head).ip(C.IFA_LOCAL, a.ip).ip(C.IFA_ADDRESS, a.ip).toBuffer();
}

export function describeAddress(a: AddressSpec): string {
  return `${a.ip.toString()}/${a.prefixLength} dev #${a.linkIndex}`;
}

/** Parses RTM_NEWADDR/RTM_DELADDR; undefined for families other than IPv4/IPv6. */
export function parseAddress(msg: NetlinkMessage): InterfaceAddress | undefined {
  const p = msg.payload;
  needHeader(p, 8, 'address');
  const attrs = parseAttrs(p, 8);
  const address = ipFromBytes(attrs.get(C.IFA_ADDRESS));
  const local = ipFromBytes(attrs.get(C.IFA_LOCAL));
  const ip = local ?? address;
  if (!ip) return undefined;
  const out: InterfaceAddress = {
    linkIndex: p.readUInt32LE(4),
    ip,
    prefixLength: p.readUInt8(1),
    scope: p.readUInt8(3),
    flags: readU32(attrs.get(C.IFA_FLAGS)) ?? p.readUInt8(2),
  };
  const label = readString(attrs.get(C.IFA_LABEL));
  if (label) out.label = label;
  if (local && address && !local.equals(address)) out.peer = address;
  return out;
}

/** Equivalent to: `ip addr add $ip/$len dev $dev`; an address already there is success. */
export async function ensureAddress(nl: NetlinkSocket, a: AddressSpec, opts: CallOptions = {}): Promise<void> {
  const desc = { op: 'add address', object: describeAddress(a) };
  await nl.requestAllowing(EXISTS, C.RTM_NEWADDR, C.NLM_F_CREATE | C.NLM_F_EXCL, encodeAddress(a), desc, opts);
}

/** Equivalent to: `ip addr del $ip/$len dev $dev`; an address that is not there is success. */
export async function deleteAddress(nl: NetlinkSocket, a: AddressSpec, opts: CallOptions = {}): Promise<void> {
  const desc = { op: 'delete address', object: describeAddress(a) };
  await nl.requestAllowing(NOT_FOUND_ERRNOS, C.RTM_DELADDR, 0, encodeAddress(a), desc, opts);
}

/** Equivalent to: `ip addr show [dev $dev]` (`ip -4`/`-6` with `family`). */
export async function listAddresses(nl: NetlinkSocket, filter: AddressFilter = {}, opts: CallOptions = {}): Promise<InterfaceAddress[]> {
  const af = filter.family === 4 ? C.AF_INET : filter.family === 6 ? C.AF_INET6 : C.AF_UNSPEC;
  const replies = await nl.dump(C.RTM_GETADDR, encodeIfaddr(af, 0, 0, 0), { op: 'list addresses', object: 'all' }, opts);
  const out: InterfaceAddress[] = [];
  for (const m of replies) {
    if (m.type !== C.RTM_NEWADDR) continue;
    const a = parseAddress(m);
    if (!a) continue;
    if (filter.linkIndex !== undefined && a.linkIndex !== filter.linkIndex) continue;
    if (filter.family !== undefined && a.ip.family !== filter.family) continue;
    out.push(a);
  }
  return out;
}
