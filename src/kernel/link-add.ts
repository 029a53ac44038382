import { AttrWriter } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';
import { encodeIfinfo, linkByName, type Link } from './link.js';

/** A link made by kind alone (no IFLA_INFO_DATA): `wireguard`, `dummy`... */
export interface LinkSpec {
  readonly name: string;
  readonly kind: string;
  readonly mtu?: number;
}

export function describeLinkSpec(s: LinkSpec): string {
  return `${s.name} type ${s.kind}${s.mtu !== undefined ? ` mtu ${s.mtu}` : ''}`;
}

export function encodeLinkSpec(s: LinkSpec): Buffer {
  const w = new AttrWriter(encodeIfinfo(0)).str(C.IFLA_IFNAME, s.name);
  if (s.mtu !== undefined) w.u32(C.IFLA_MTU, s.mtu);
  w.nested(C.IFLA_LINKINFO, (li) => li.str(C.IFLA_INFO_KIND, s.kind));
  return w.toBuffer();
}

/**
 * Equivalent to: `ip link add $name mtu $mtu type $kind`. Throws KernelError: EEXIST when the
 * name is taken, EOPNOTSUPP when the kernel has no such kind (e.g. no wireguard module).
 */
export async function addLink(nl: NetlinkSocket, spec: LinkSpec, opts: CallOptions = {}): Promise<Link> {
  await nl.request(C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, encodeLinkSpec(spec), { op: 'add link', object: describeLinkSpec(spec) }, opts);
  return linkByName(nl, spec.name, opts);
}
