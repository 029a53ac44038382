/**
 * The kernel's WireGuard configuration interface: generic-netlink family `wireguard`, version 1
 * (include/uapi/linux/wireguard.h). WG_CMD_GET_DEVICE is a dump naming the device;
 * WG_CMD_SET_DEVICE carries the device attributes and the peers as a nested array, split over
 * several messages when large (only the first may replace the peer list).
 */
import { IPNetwork } from '../ip/ip-network.js';
import { GENL_HDRLEN, NETLINK_GENERIC, NLA_F_NESTED, genlHeader, resolveFamily } from './genetlink.js';
import { AttrWriter, ipFromBytes, ipToBytes, parseAttrs, readU32, readU8, type NetlinkMessage } from './netlink-codec.js';
import { AF_INET, AF_INET6 } from './netlink-constants.js';
import { NetlinkSocket, type CallOptions } from './netlink-socket.js';
import { newPeerBuilder, type WgControl, type WgDeviceSet, type WgDeviceState, type WgEndpoint, type WgPeerBuilder, type WgPeerSet } from './wg-types.js';

export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;

export const WGDEVICE_F_REPLACE_PEERS = 1 << 0;
export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;

export const WGPEER_F_REMOVE_ME = 1 << 0;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1;
export const WGPEER_F_UPDATE_ONLY = 1 << 2;
export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;

export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;

/** Bound on one set message's body (the kernel takes up to the socket's send buffer; wg uses a page). */
export const WG_SET_MESSAGE_BYTES = 32 * 1024;

/** struct sockaddr_in / sockaddr_in6: family in host order, port and address in network order. */
export function encodeSockaddr(e: WgEndpoint): Buffer {
  if (e.ip.family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(e.port, 2);
    ipToBytes(e.ip).copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(e.port, 2);
  ipToBytes(e.ip).copy(b, 8);
  return b;
}

export function parseSockaddr(b: Buffer | undefined): WgEndpoint | undefined {
  if (!b || b.length < 4) return undefined;
  const fam = b.readUInt16LE(0);
  const port = b.readUInt16BE(2);
  if (fam === AF_INET && b.length >= 16) {
    const ip = ipFromBytes(b.subarray(4, 8));
    return ip ? { ip, port } : undefined;
  }
  if (fam === AF_INET6 && b.length >= 24) {
    const ip = ipFromBytes(b.subarray(8, 24));
    return ip ? { ip, port } : undefined;
  }
  return undefined;
}

/** The body of WG_CMD_GET_DEVICE for the device `ifname` (sent as a dump). */
export function encodeGetDevice(ifname: string): Buffer {
  return new AttrWriter(genlHeader(WG_CMD_GET_DEVICE, WG_GENL_VERSION)).str(WGDEVICE_A_IFNAME, ifname).toBuffer();
}

function writePeer(w: AttrWriter, index: number, p: WgPeerSet): void {
  w.nested(index | NLA_F_NESTED, (pw) => {
    pw.bytes(WGPEER_A_PUBLIC_KEY, p.publicKey);
    let flags = 0;
    if (p.remove) flags |= WGPEER_F_REMOVE_ME;
    if (p.updateOnly) flags |= WGPEER_F_UPDATE_ONLY;
    if (p.replaceAllowedIps && !p.remove) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
    if (flags) pw.u32(WGPEER_A_FLAGS, flags);
    if (p.remove) return;
    if (p.presharedKey) pw.bytes(WGPEER_A_PRESHARED_KEY, p.presharedKey);
    if (p.endpoint) pw.bytes(WGPEER_A_ENDPOINT, encodeSockaddr(p.endpoint));
    if (p.persistentKeepalive !== undefined) pw.u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.persistentKeepalive);
    const ips = p.allowedIps ?? [];
    if (ips.length > 0 || p.replaceAllowedIps) {
      pw.nested(WGPEER_A_ALLOWEDIPS | NLA_F_NESTED, (aw) => {
        ips.forEach((net, i) => {
          aw.nested(i | NLA_F_NESTED, (ew) => {
            ew.u16(WGALLOWEDIP_A_FAMILY, net.family === 4 ? AF_INET : AF_INET6);
            ew.bytes(WGALLOWEDIP_A_IPADDR, ipToBytes(net.ip));
            ew.u8(WGALLOWEDIP_A_CIDR_MASK, net.prefixLength);
          });
        });
      });
    }
  });
}

/**
 * The bodies of WG_CMD_SET_DEVICE for `cfg` on `ifname`: the first carries the device attributes
 * (private key, port, fwmark, WGDEVICE_F_REPLACE_PEERS); peers fill messages of at most
 * `maxBytes`, each further message naming the device again without the replace flag (as `wg`
 * splits them). Equivalent to: `wg set $ifname ...`.
 */
export function encodeSetDevice(ifname: string, cfg: WgDeviceSet, maxBytes = WG_SET_MESSAGE_BYTES): Buffer[] {
  const bodies: Buffer[] = [];
  const peers = cfg.peers ?? [];
  let next = 0;
  let first = true;
  do {
    const w = new AttrWriter(genlHeader(WG_CMD_SET_DEVICE, WG_GENL_VERSION)).str(WGDEVICE_A_IFNAME, ifname);
    if (first) {
      if (cfg.privateKey) w.bytes(WGDEVICE_A_PRIVATE_KEY, cfg.privateKey);
      if (cfg.listenPort !== undefined) w.u16(WGDEVICE_A_LISTEN_PORT, cfg.listenPort);
      if (cfg.fwmark !== undefined) w.u32(WGDEVICE_A_FWMARK, cfg.fwmark);
      if (cfg.replacePeers) w.u32(WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
    }
    if (next < peers.length || (first && cfg.replacePeers)) {
      w.nested(WGDEVICE_A_PEERS | NLA_F_NESTED, (pw) => {
        let i = 0;
        for (; next < peers.length; next++, i++) {
          const before = pw.length;
          writePeer(pw, i, peers[next] as WgPeerSet);
          // Keep at least one peer per message; otherwise stop before the bound.
          if (pw.length > maxBytes && i > 0) {
            pw.truncate(before);
            break;
          }
        }
      });
    }
    bodies.push(w.toBuffer());
    first = false;
  } while (next < peers.length);
  return bodies;
}

function nonZero(b: Buffer | undefined): Buffer | undefined {
  return b && b.length === 32 && !b.every((x) => x === 0) ? Buffer.from(b) : undefined;
}

/** Every attribute of a nested array, in order. */
function arrayItems(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.push(buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

/**
 * Folds the parts of a WG_CMD_GET_DEVICE dump into one state: a peer whose allowed IPs did not
 * fit one message continues in the next under the same public key.
 */
export function parseDeviceDump(messages: readonly NetlinkMessage[]): WgDeviceState {
  let privateKey: Buffer | undefined;
  let publicKey: Buffer | undefined;
  let listenPort = 0;
  let fwmark = 0;
  const peers: WgPeerBuilder[] = [];
  for (const msg of messages) {
    const a = parseAttrs(msg.payload, GENL_HDRLEN);
    privateKey = nonZero(a.get(WGDEVICE_A_PRIVATE_KEY)) ?? privateKey;
    publicKey = nonZero(a.get(WGDEVICE_A_PUBLIC_KEY)) ?? publicKey;
    const port = a.get(WGDEVICE_A_LISTEN_PORT);
    if (port && port.length >= 2) listenPort = port.readUInt16LE(0);
    fwmark = readU32(a.get(WGDEVICE_A_FWMARK)) ?? fwmark;
    const list = a.get(WGDEVICE_A_PEERS);
    if (!list) continue;
    for (const item of arrayItems(list)) {
      const p = parseAttrs(item);
      const pk = p.get(WGPEER_A_PUBLIC_KEY);
      if (!pk || pk.length !== 32) continue;
      let peer = peers.at(-1);
      if (!peer || !peer.publicKey.equals(pk)) {
        peer = newPeerBuilder(Buffer.from(pk));
        peers.push(peer);
      }
      peer.presharedKey = nonZero(p.get(WGPEER_A_PRESHARED_KEY)) ?? peer.presharedKey;
      peer.endpoint = parseSockaddr(p.get(WGPEER_A_ENDPOINT)) ?? peer.endpoint;
      const ka = p.get(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL);
      if (ka && ka.length >= 2) peer.persistentKeepalive = ka.readUInt16LE(0);
      const hs = p.get(WGPEER_A_LAST_HANDSHAKE_TIME);
      if (hs && hs.length >= 8) peer.lastHandshakeSec = Number(hs.readBigInt64LE(0));
      const rx = p.get(WGPEER_A_RX_BYTES);
      if (rx && rx.length >= 8) peer.rxBytes = rx.readBigUInt64LE(0);
      const tx = p.get(WGPEER_A_TX_BYTES);
      if (tx && tx.length >= 8) peer.txBytes = tx.readBigUInt64LE(0);
      const ips = p.get(WGPEER_A_ALLOWEDIPS);
      for (const e of ips ? arrayItems(ips) : []) {
        const ea = parseAttrs(e);
        const ip = ipFromBytes(ea.get(WGALLOWEDIP_A_IPADDR));
        const mask = readU8(ea.get(WGALLOWEDIP_A_CIDR_MASK));
        if (ip && mask !== undefined && mask <= ip.bits) peer.allowedIps.push(IPNetwork.of(ip, mask));
      }
    }
  }
  return { privateKey, publicKey, listenPort, fwmark, peers };
}

/**
 * A kernel WireGuard device configured over generic netlink. Opens its NETLINK_GENERIC socket
 * and resolves the family id on first use. Equivalent to: `wg show $ifname dump` / `wg set`.
 */
export class GenlWireguard implements WgControl {
  readonly implementation = 'kernel';
  private familyId: number | undefined;
  private sock: NetlinkSocket | undefined;

  constructor(
    readonly ifname: string,
    private readonly open: () => NetlinkSocket = () => NetlinkSocket.open({ protocol: NETLINK_GENERIC }),
  ) {}

  private async family(opts: CallOptions): Promise<{ nl: NetlinkSocket; id: number }> {
    this.sock ??= this.open();
    this.familyId ??= await resolveFamily(this.sock, WG_GENL_NAME, opts);
    return { nl: this.sock, id: this.familyId };
  }

  async get(opts: CallOptions = {}): Promise<WgDeviceState> {
    const { nl, id } = await this.family(opts);
    const parts = await nl.dump(id, encodeGetDevice(this.ifname), { op: 'get wireguard device', object: this.ifname }, opts);
    return parseDeviceDump(parts);
  }

  async set(cfg: WgDeviceSet, opts: CallOptions = {}): Promise<void> {
    const { nl, id } = await this.family(opts);
    for (const body of encodeSetDevice(this.ifname, cfg)) {
      await nl.request(id, 0, body, { op: 'set wireguard device', object: `${this.ifname} (${cfg.peers?.length ?? 0} peers)` }, opts);
    }
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}

