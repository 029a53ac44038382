/**
 * Generic netlink (linux/genetlink.h): a family is named, its numeric id (the message type of
 * its requests) is resolved through the controller with CTRL_CMD_GETFAMILY, and every message
 * body starts with a genlmsghdr (cmd, version, reserved) before the attributes.
 */
import { Errno, kernelError } from './kernel-errors.js';
import { AttrWriter, parseAttrs } from './netlink-codec.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

export const NETLINK_GENERIC = 16;
export const GENL_ID_CTRL = 0x10;
export const GENL_HDRLEN = 4;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
/** The controller's version, as libmnl and iproute2 send it. */
const CTRL_VERSION = 1;
/** nla_type bit: the payload is itself attributes. */
export const NLA_F_NESTED = 0x8000;

/** A genlmsghdr: command, family version, two reserved bytes. */
export function genlHeader(cmd: number, version: number): Buffer {
  const b = Buffer.alloc(GENL_HDRLEN);
  b.writeUInt8(cmd, 0);
  b.writeUInt8(version, 1);
  return b;
}

/** The body of CTRL_CMD_GETFAMILY for `name`. */
export function encodeGetFamily(name: string): Buffer {
  return new AttrWriter(genlHeader(CTRL_CMD_GETFAMILY, CTRL_VERSION)).str(CTRL_ATTR_FAMILY_NAME, name).toBuffer();
}

/** The family id in the controller's answer, or undefined. */
export function parseFamilyId(payload: Buffer): number | undefined {
  const id = parseAttrs(payload, GENL_HDRLEN).get(CTRL_ATTR_FAMILY_ID);
  return id && id.length >= 2 ? id.readUInt16LE(0) : undefined;
}

/**
 * Resolves a generic-netlink family's id. Equivalent to: `genl ctrl get name $name`. Throws
 * KernelNotFoundError (ENOENT) when the kernel has no such family (e.g. no wireguard module).
 */
export async function resolveFamily(nl: NetlinkSocket, name: string, opts: CallOptions = {}): Promise<number> {
  const replies = await nl.request(GENL_ID_CTRL, 0, encodeGetFamily(name), { op: 'get generic netlink family', object: name }, opts);
  for (const r of replies) {
    const id = parseFamilyId(r.payload);
    if (id !== undefined) return id;
  }
  throw kernelError('get generic netlink family', name, Errno.ENOENT);
}
