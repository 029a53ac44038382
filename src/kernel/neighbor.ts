import type { Family, IPAddress } from '../ip/ip-address.js';
import { replaceAndDeleteSpecs, runBatch } from './batch.js';
import { AttrIndex } from './attr-index.js';
import { AttrWriter, familyOf, needHeader, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';

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
  const w = new AttrWriter(undefined, 16);
  writeNdmsg(w, family, linkIndex, state, flags, type);
  return w.toBuffer();
}

/** The ndmsg header, written into `w`. */
export function writeNdmsg(w: AttrWriter, family: number, linkIndex: number, state: number, flags: number, type: number): void {
  const at = w.fixed(12);
  w.setU8(at, family).setI32(at + 4, linkIndex).setU16(at + 8, state).setU8(at + 10, flags).setU8(at + 11, type);
}

/** The highest NDA_* type parseNeighborMessage reads. */
const NEIGH_ATTR_MAX = C.NDA_MASTER;

export function parseNeighborMessage(msg: NetlinkMessage): NeighborMessage {
  return neighborMessageFrom(msg.payload, new AttrIndex(NEIGH_ATTR_MAX));
}

/** parseNeighborMessage() of an ndmsg payload, with `attrs` (reused across a dump) for its attributes. */
export function neighborMessageFrom(p: Buffer, attrs: AttrIndex): NeighborMessage {
  needHeader(p, 12, 'neighbour');
  attrs.scan(p, 12);
  const out: NeighborMessage = {
    family: p.readUInt8(0),
    linkIndex: p.readInt32LE(4),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
    type: p.readUInt8(11),
  };
  const dst = attrs.ip(C.NDA_DST);
  if (dst) out.dst = dst;
  const mac = attrs.mac(C.NDA_LLADDR);
  if (mac) out.hardwareAddr = mac;
  const vni = attrs.u32(C.NDA_VNI);
  if (vni !== undefined) out.vni = vni;
  const master = attrs.u32(C.NDA_MASTER);
  if (master !== undefined) out.masterIndex = master;
  return out;
}

/** An allocation-free attribute index sized for neighbour messages, to reuse across a dump. */
export function neighborAttrIndex(): AttrIndex {
  return new AttrIndex(NEIGH_ATTR_MAX);
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

function writeNeighbor(w: AttrWriter, n: Neighbor, del: boolean): void {
  const state = del ? 0 : (n.state ?? C.NUD_PERMANENT);
  writeNdmsg(w, familyOf(n.ip), n.linkIndex, state, n.flags ?? 0, del ? 0 : C.RTN_UNICAST);
  w.ip(C.NDA_DST, n.ip);
  if (n.hardwareAddr && !del) w.mac(C.NDA_LLADDR, n.hardwareAddr);
}

const { replace: REPLACE, delete: DELETE } = replaceAndDeleteSpecs<Neighbor>({
  noun: 'neighbor',
  newType: C.RTM_NEWNEIGH,
  delType: C.RTM_DELNEIGH,
  write: writeNeighbor,
  describe: describeNeighbor,
});

/** Equivalent to: `ip neigh replace $ip lladdr $mac dev $dev nud permanent`, for each, pipelined. Throws KernelBatchError. */
export function replaceNeighbors(nl: NetlinkSocket, neighbors: readonly Neighbor[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, neighbors, REPLACE, opts);
}

/** Equivalent to: `ip neigh del $ip dev $dev`, for each, pipelined; entries not there are success. */
export function deleteNeighbors(nl: NetlinkSocket, neighbors: readonly Neighbor[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, neighbors, DELETE, opts);
}

/** Which neighbours listNeighbors() returns; `keep` as RouteFilter's (sees each as it is read). */
export interface NeighborFilter {
  linkIndex?: number;
  family?: Family;
  keep?: (n: Neighbor) => boolean;
}

/** Equivalent to: `ip [-4|-6] neigh show [dev $dev]`. */
export async function listNeighbors(
  nl: NetlinkSocket,
  filter: NeighborFilter = {},
  opts: CallOptions = {},
): Promise<Neighbor[]> {
  const af = filter.family === 4 ? C.AF_INET : filter.family === 6 ? C.AF_INET6 : C.AF_UNSPEC;
  const w = new AttrWriter(encodeNdmsg(af, 0, 0, 0, 0));
  if (filter.linkIndex !== undefined) w.u32(C.NDA_IFINDEX, filter.linkIndex);
  const body = w.toBuffer();
  const attrs = neighborAttrIndex();
  return nl.dumpParsed(C.RTM_GETNEIGH, body, { op: 'list neighbors', object: 'all' }, opts, (m) => {
    if (m.type !== C.RTM_NEWNEIGH) return undefined;
    needHeader(m.payload, 12, 'neighbour');
    const family = m.payload.readUInt8(0);
    // Bridge (FDB) entries and other links are skipped before any object is built.
    if (family !== C.AF_INET && family !== C.AF_INET6) return undefined;
    if (filter.linkIndex !== undefined && m.payload.readInt32LE(4) !== filter.linkIndex) return undefined;
    const n = toNeighbor(neighborMessageFrom(m.payload, attrs));
    return n && (filter.family === undefined || n.ip.family === filter.family) && (!filter.keep || filter.keep(n)) ? n : undefined;
  });
}
