import { ConfigError } from '../../errors.js';
import type { NetworkConfig } from '../../config/network-config.js';
import { backendBool } from '../backend-fields.js';

/** The ipip backend's options, as flannel documents them. */
export interface IpipConfig {
  /** Route directly (like host-gw) to peers whose public IP is on the same L2 network. */
  readonly directRouting: boolean;
}

/** flannel's ipip device: one per host, local = this host's interface address, no remote. */
export const IPIP_DEVICE = 'flannel.ipip';
/** The outer IPv4 header. */
export const IPIP_ENCAP_OVERHEAD = 20;

/** Reads `DirectRouting`; the ipip backend carries IPv4 only, so an IPv6 network is an error. */
export function parseIpipConfig(config: NetworkConfig): IpipConfig {
  if (config.enableIPv6) throw new ConfigError('EnableIPv6', true, 'the ipip backend carries IPv4 only (as flannel); use vxlan or wireguard for IPv6');
  return Object.freeze({ directRouting: backendBool(config.backend, 'DirectRouting', false) });
}
