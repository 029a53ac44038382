import type { NetworkConfig } from '../../config/network-config.js';
import { ConfigError } from '../../errors.js';
import { backendInt } from '../backend-fields.js';

/** The udp backend's options, as flannel documents them. */
export interface UdpConfig {
  /** The UDP port of every host (flannel sends to each peer on its own configured port). */
  readonly port: number;
}

export const UDP_DEFAULT_PORT = 8285;
/** The outer IPv4 and UDP headers. */
export const UDP_ENCAP_OVERHEAD = 28;
/** The TUN device's name template: the kernel picks the number (flannel0). */
export const UDP_TUN_TEMPLATE = 'flannel%d';

/** Reads `Port`; the udp backend carries IPv4 only (as flannel), so an IPv6 network is an error. */
export function parseUdpConfig(config: NetworkConfig): UdpConfig {
  if (config.enableIPv6) throw new ConfigError('EnableIPv6', true, 'the udp backend carries IPv4 only (as flannel); use vxlan or wireguard for IPv6');
  return Object.freeze({ port: backendInt(config.backend, 'Port', UDP_DEFAULT_PORT, 1, 65535) });
}
