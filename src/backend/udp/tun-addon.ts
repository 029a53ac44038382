/**
 * The typed surface of flannel-ts's TUN addon (native/tun/tun.c), loaded on first use so that
 * no other backend pays for it: from dist/native/tun.node in a checkout, from the executable's
 * SEA asset `tun.node` when packaged (scripts/sea/tun-native.cjs replaces tun-native.ts there).
 */
import { FlannelError, errorMessage } from '../../errors.js';
import { loadTunNative } from './tun-native.js';

/** Packet counters of one forwarder (since it started). */
export interface ForwarderStats {
  /** Reads from TUN; of which TSO packets (up to 64 KiB, cut into datagrams here). */
  readonly tunReceived: number;
  readonly tunReceivedTso: number;
  /** Datagrams sent and received (a UDP GRO train counts each of its datagrams); the trains. */
  readonly udpSent: number;
  readonly udpReceived: number;
  readonly udpReceivedTrains: number;
  /** Packets written to TUN (counting each one coalesced); the TSO writes that carried several. */
  readonly tunWritten: number;
  readonly tunWrittenTso: number;
  /** Packets from TUN whose destination no peer's subnet holds (answered with ICMP net unreachable). */
  readonly droppedNoRoute: number;
  readonly droppedTtl: number;
  readonly droppedMalformed: number;
  readonly udpSendErrors: number;
  readonly tunWriteErrors: number;
  readonly icmpUnreachableSent: number;
  readonly routes: number;
  readonly running: boolean;
}

/** The forwarding thread between one TUN device and one UDP socket, and its peer table. */
export interface Forwarder {
  /** Packets for `net/prefixLen` go to peerIp:peerPort (addresses as host-order uint32). */
  setRoute(net: number, prefixLen: number, peerIp: number, peerPort: number): void;
  delRoute(net: number, prefixLen: number): boolean;
  setIcmpSource(ip: string): void;
  stats(): ForwarderStats;
  /** Stops the thread; closes the TUN descriptor (the device goes) and the socket. */
  close(): void;
}

export interface TunAddon {
  /** Opens /dev/net/tun as a TUN device named from `template` ("flannel%d"); throws an errno Error. */
  openTun(template: string): { fd: number; name: string };
  /** Takes over tunFd; binds the UDP socket (throws EADDRINUSE...) and starts the thread. */
  readonly Forwarder: new (tunFd: number, bindIp: string, port: number, icmpSource: string) => Forwarder;
}

/** The addon is missing or cannot be loaded. */
export class TunAddonError extends FlannelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TUN_ADDON', message, options);
  }
}

let addon: TunAddon | undefined;

export function loadTunAddon(): TunAddon {
  if (addon) return addon;
  try {
    addon = loadTunNative() as TunAddon;
  } catch (err) {
    if (err instanceof FlannelError) throw err;
    throw new TunAddonError(`the udp backend's native addon cannot be loaded (${errorMessage(err)}); build it with \`make -C native\` (scripts/setup.sh does)`, {
      cause: err,
    });
  }
  return addon;
}
