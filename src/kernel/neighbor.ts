import type { Family, IPAddress } from '../ip/ip-address.js';
import { runBatch, type BatchSpec } from './batch.js';
import { NOT_FOUND_ERRNOS } from './kernel-errors.js';
import { formatMac, parseMac } from './mac-address.js';
import { AttrWriter, familyOf, ipFromBytes, parseAttrs, readU32, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { BatchRequest, CallOptions, NetlinkSocket } from './netlink-socket.js';

/** An IP neighbour (ARP / NDP entry) on a link. */
export interface Neighbor {
  linkIndex: number;
  ip: IPAddress;
  hardwareAddr?: string;
  /** NUD_* state; default NUD_PERMANENT on replace. */
  state?: number;
  /** NTF_* flags. */
  flags?: number;
}

/** The fields of any RTM_NEWNEIGH message (IP neighbours and bridge FDB entries alike). */
export interface NeighborMessage {
  family: number;
  linkIndex: number;
  state: number;
  flags: number;
  type: number;
  dst?: IPAddress;
  hardwareAddr?: string;
  vni?: number;
  masterIndex?: number;
}

export function encodeNdmsg(family: number, linkIndex: number, state: number, flags: number, type: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(linkIndex, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  b.writeUInt8(type, 11);
  return b;
}

export function parseNeighborMessage(msg: NetlinkMessage): NeighborMessage {
  const p = msg.payload;
  const attrs = parseAttrs(p, 12);
  const out: NeighborMessage = {
    family: p.readUInt8(0),
    linkIndex: p.readInt32LE(4),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
    type: p.readUInt8(11),
  };
  const dst = ipFromBytes(attrs.get(C.NDA_DST));
  if (dst) out.dst = dst;
  const ll = attrs.get(C.NDA_LLADDR);
  if (ll && ll.length > 0) out.hardwareAddr = formatMac(ll);
  const vni = readU32(attrs.get(C.NDA_VNI));
  if (vni !== undefined) out.vni = vni;
  const master = readU32(attrs.get(C.NDA_MASTER));
  if (master !== undefined) out.masterIndex = master;
  return out;
}

/** The IP neighbour in a neighbour message, or undefined for bridge (FDB) messages. */
export function toNeighbor(m: NeighborMessage): Neighbor | undefined {
  if ((m.family !== C.AF_INET && m.family !== C.AF_INET6) || !m.dst) return undefined;
  const n: Neighbor = { linkIndex: m.linkIndex, ip: m.dst, state: m.state, flags: m.flags };
  if (m.hardwareAddr) n.hardwareAddr = m.hardwareAddr;
  return n;
}

export function describeNeighbor(n: Neighbor): string {
  return `${n.ip.toString()}${n.hardwareAddr ? ` lladdr ${n.hardwareAddr}` : ''} dev #${n.linkIndex}`;
}

function encodeNeighbor(n: Neighbor, del: boolean): Buffer {
  const state = del ? 0 : (n.state ?? C.NUD_PERMANENT);
  const w = new AttrWriter(encodeNdmsg(familyOf(n.ip), n.linkIndex, state, n.flags ?? 0, del ? 0 : C.RTN_UNICAST));
  w.ip(C.NDA_DST, n.ip);
  if (n.hardwareAddr && !del) w.bytes(C.NDA_LLADDR, parseMac(n.hardwareAddr));
  return w.toBuffer();
}

const REPLACE: BatchSpec<Neighbor> = {
  op: 'replace neighbor',
  encode: (n): BatchRequest => ({ type: C.RTM_NEWNEIGH, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, body: encodeNeighbor(n, false) }),
  describe: describeNeighbor,
};

const DELETE: BatchSpec<Neighbor> = {
  op: 'delete neighbor',
  encode: (n): BatchRequest => ({ type: C.RTM_DELNEIGH, flags: 0, body: encodeNeighbor(n, true) }),
  describe: describeNeighbor,
  okErrnos: NOT_FOUND_ERRNOS,
};

/** Equivalent to: `ip neigh replace $ip lladdr $mac dev $dev nud permanent`, for each, pipelined. Throws KernelBatchError. */
export function replaceNeighbors(nl: NetlinkSocket, neighbors: readonly Neighbor[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, neighbors, REPLACE, opts);
}

/** Equivalent to: `ip neigh del $ip dev $dev`, for each, pipelined; entries not there are success. */
export function deleteNeighbors(nl: NetlinkSocket, neighbors: readonly Neighbor[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, neighbors, DELETE, opts);
}

/** Equivalent to: `ip [-4|-6] neigh show [dev $dev]`. */
export async function listNeighbors(
  nl: NetlinkSocket,
  filter: { linkIndex?: number; family?: Family } = {},
  opts: CallOptions = {},
): Promise<Neighbor[]> {
  const af = filter.family === 4 ? C.AF_INET : filter.family === 6 ? C.AF_INET6 : C.AF_UNSPEC;
  const w = new AttrWriter(encodeNdmsg(af, 0, 0, 0, 0));
  if (filter.linkIndex !== undefined) w.u32(C.NDA_IFINDEX, filter.linkIndex);
  const body = w.toBuffer();
  const replies = await nl.dump(C.RTM_GETNEIGH, body, { op: 'list neighbors', object: 'all' }, opts);
  const out: Neighbor[] = [];
  for (const m of replies) {
    if (m.type !== C.RTM_NEWNEIGH) continue;
    const n = toNeighbor(parseNeighborMessage(m));
    if (!n) continue;
    if (filter.linkIndex !== undefined && n.linkIndex !== filter.linkIndex) continue;
    if (filter.family !== undefined && n.ip.family !== filter.family) continue;
    out.push(n);
  }
  return out;
}
