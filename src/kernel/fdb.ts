import type { IPAddress } from '../ip/ip-address.js';
import { replaceAndDeleteSpecs, runBatch } from './batch.js';
import { needHeader, type AttrWriter } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import type { CallOptions, NetlinkSocket } from './netlink-socket.js';
import { encodeNdmsg, neighborAttrIndex, neighborMessageFrom, writeNdmsg, type NeighborMessage } from './neighbor.js';

/** A forwarding-database entry of a bridge-like device (AF_BRIDGE), e.g. a vxlan remote. */
export interface FdbEntry {
  linkIndex: number;
  hardwareAddr: string;
  /** The remote (VTEP) address for vxlan devices. */
  dst?: IPAddress;
  /** NUD_* state; default NUD_PERMANENT on replace. */
  state?: number;
  /** NTF_* flags; default NTF_SELF (the entry belongs to the device itself, not its master bridge). */
  flags?: number;
  vni?: number;
  masterIndex?: number;
}

export function describeFdb(f: FdbEntry): string {
  return `${f.hardwareAddr} dev #${f.linkIndex}${f.dst ? ` dst ${f.dst.toString()}` : ''}`;
}

/** The FDB entry in a neighbour message, or undefined for IP neighbours. */
export function toFdbEntry(m: NeighborMessage): FdbEntry | undefined {
  if (m.family !== C.AF_BRIDGE || !m.hardwareAddr) return undefined;
  const f: FdbEntry = { linkIndex: m.linkIndex, hardwareAddr: m.hardwareAddr, state: m.state, flags: m.flags };
  if (m.dst) f.dst = m.dst;
  if (m.vni !== undefined) f.vni = m.vni;
  if (m.masterIndex !== undefined) f.masterIndex = m.masterIndex;
  return f;
}

function writeFdb(w: AttrWriter, f: FdbEntry, del: boolean): void {
  const state = del ? 0 : (f.state ?? C.NUD_PERMANENT);
  writeNdmsg(w, C.AF_BRIDGE, f.linkIndex, state, f.flags ?? C.NTF_SELF, 0);
  w.mac(C.NDA_LLADDR, f.hardwareAddr);
  if (f.dst) w.ip(C.NDA_DST, f.dst);
}

const { replace: REPLACE, delete: DELETE } = replaceAndDeleteSpecs<FdbEntry>({
  noun: 'fdb entry',
  newType: C.RTM_NEWNEIGH,
  delType: C.RTM_DELNEIGH,
  write: writeFdb,
  describe: describeFdb,
});

/** Equivalent to: `bridge fdb replace $mac dev $dev dst $ip self permanent`, for each, pipelined. Throws KernelBatchError. */
export function replaceFdb(nl: NetlinkSocket, entries: readonly FdbEntry[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, entries, REPLACE, opts);
}

/** Equivalent to: `bridge fdb del $mac dev $dev dst $ip self`, for each, pipelined; entries not there are success. */
export function deleteFdb(nl: NetlinkSocket, entries: readonly FdbEntry[], opts: CallOptions = {}): Promise<void> {
  return runBatch(nl, entries, DELETE, opts);
}

/** Which FDB entries listFdb() returns; `keep` as RouteFilter's (sees each as it is read). */
export interface FdbFilter {
  linkIndex?: number;
  keep?: (f: FdbEntry) => boolean;
}

/** Equivalent to: `bridge fdb show [dev $dev]`. */
export async function listFdb(nl: NetlinkSocket, filter: FdbFilter = {}, opts: CallOptions = {}): Promise<FdbEntry[]> {
  const attrs = neighborAttrIndex();
  const desc = { op: 'list fdb', object: 'all' };
  return nl.dumpParsed(C.RTM_GETNEIGH, encodeNdmsg(C.AF_BRIDGE, 0, 0, 0, 0), desc, opts, (m) => {
    const p = m.payload;
    needHeader(p, 12, 'neighbour');
    // IP neighbours and entries of other links are skipped before any object is built.
    if (m.type !== C.RTM_NEWNEIGH || p.readUInt8(0) !== C.AF_BRIDGE) return undefined;
    if (filter.linkIndex !== undefined && p.readInt32LE(4) !== filter.linkIndex) return undefined;
    const f = toFdbEntry(neighborMessageFrom(p, attrs));
    return f && (!filter.keep || filter.keep(f)) ? f : undefined;
  });
}
