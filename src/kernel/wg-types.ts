import type { IPAddress } from '../ip/ip-address.js';
import type { IPNetwork } from '../ip/ip-network.js';

/**
 * WireGuard device configuration and state, as both ways of reaching a device speak them: the
 * kernel's generic-netlink family `wireguard` (include/uapi/linux/wireguard.h) and the
 * cross-platform UAPI socket of userspace implementations (wireguard.com/xplatform). Keys are
 * 32 raw bytes.
 */
export interface WgEndpoint {
  readonly ip: IPAddress;
  readonly port: number;
}

/** One peer of a set request (WGPEER_A_* / the `public_key=` section). */
export interface WgPeerSet {
  readonly publicKey: Buffer;
  /** Remove the peer (WGPEER_F_REMOVE_ME, `remove=true`); nothing else is read. */
  readonly remove?: boolean;
  /** Only change an existing peer, never create one (WGPEER_F_UPDATE_ONLY, `update_only=true`). */
  readonly updateOnly?: boolean;
  /** The pre-shared key; all zeros clears it. */
  readonly presharedKey?: Buffer;
  readonly endpoint?: WgEndpoint;
  /** Seconds; 0 turns it off. */
  readonly persistentKeepalive?: number;
  /** Replace the allowed IPs with `allowedIps` (WGPEER_F_REPLACE_ALLOWEDIPS, `replace_allowed_ips=true`). */
  readonly replaceAllowedIps?: boolean;
  readonly allowedIps?: readonly IPNetwork[];
}

/** A set request for one device (WG_CMD_SET_DEVICE, `set=1`). */
export interface WgDeviceSet {
  readonly privateKey?: Buffer;
  readonly listenPort?: number;
  readonly fwmark?: number;
  /** Remove every peer not in `peers` (WGDEVICE_F_REPLACE_PEERS, `replace_peers=true`). */
  readonly replacePeers?: boolean;
  readonly peers?: readonly WgPeerSet[];
}

export interface WgPeerState {
  readonly publicKey: Buffer;
  /** Undefined when none is set. */
  readonly presharedKey: Buffer | undefined;
  readonly endpoint: WgEndpoint | undefined;
  readonly persistentKeepalive: number;
  readonly allowedIps: readonly IPNetwork[];
  /** Seconds since the epoch; 0 = never. */
  readonly lastHandshakeSec: number;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
}

/** A peer's state while a get answer is read, field by field (kernel dump or UAPI text). */
export type WgPeerBuilder = { -readonly [K in keyof WgPeerState]: K extends 'allowedIps' ? IPNetwork[] : WgPeerState[K] };

/** A peer known only by its key so far: nothing else set, never seen, no traffic. */
export function newPeerBuilder(publicKey: Buffer): WgPeerBuilder {
  return { publicKey, presharedKey: undefined, endpoint: undefined, persistentKeepalive: 0, allowedIps: [], lastHandshakeSec: 0, rxBytes: 0n, txBytes: 0n };
}

/** What a get request (WG_CMD_GET_DEVICE, `get=1`) reports. */
export interface WgDeviceState {
  readonly privateKey: Buffer | undefined;
  readonly publicKey: Buffer | undefined;
  readonly listenPort: number;
  readonly fwmark: number;
  readonly peers: readonly WgPeerState[];
}

/** A way to configure and query one WireGuard device. */
export interface WgControl {
  /** `kernel` (generic netlink) or `userspace` (the UAPI socket of wireguard-go). */
  readonly implementation: 'kernel' | 'userspace';
  get(opts?: { signal?: AbortSignal }): Promise<WgDeviceState>;
  set(config: WgDeviceSet, opts?: { signal?: AbortSignal }): Promise<void>;
}

export function isZeroKey(k: Buffer | undefined): boolean {
  return k === undefined || k.every((b) => b === 0);
}
