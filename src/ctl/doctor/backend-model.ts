/**
 * What doctor expects of each backend on this host, from the network config: its devices (name,
 * kind, family, encapsulation overhead) and the UDP ports it listens on. Options are read with the
 * backends' own config parsers, so defaults and names are theirs.
 */
import type { NetworkConfig } from '../../config/network-config.js';
import type { Family } from '../../ip/ip-address.js';
import { IPIP_DEVICE, IPIP_ENCAP_OVERHEAD } from '../../backend/ipip/ipip-config.js';
import { UDP_DEFAULT_PORT, UDP_ENCAP_OVERHEAD } from '../../backend/udp/udp-config.js';
import { VXLAN_ENCAP_OVERHEAD_V4, VXLAN_ENCAP_OVERHEAD_V6, parseVxlanConfig, vxlanDeviceName } from '../../backend/vxlan/vxlan-config.js';
import { WG_DEVICE, WG_DEVICE_V6, WG_OVERHEAD, parseWireguardConfig } from '../../backend/wireguard/wireguard-config.js';
import { backendInt } from '../../backend/backend-fields.js';

export interface ExpectedDevice {
  readonly name: string;
  /** Matches the name when the kernel numbers the device (the udp backend's flannel%d). */
  readonly pattern?: RegExp;
  /** IFLA_INFO_KIND ('tun' also matches a userspace WireGuard device). */
  readonly kinds: readonly string[];
  /** The family whose lease address the device carries (both for single-device WireGuard). */
  readonly families: readonly Family[];
  /** Bytes of encapsulation: the device MTU plus this must fit the underlay's MTU. */
  readonly overhead: number;
}

export interface ExpectedPort {
  readonly port: number;
  readonly family: Family;
  readonly what: string;
}

export interface BackendModel {
  readonly type: string;
  readonly devices: readonly ExpectedDevice[];
  readonly ports: readonly ExpectedPort[];
  /** vxlan: DirectRouting; ipip: DirectRouting. */
  readonly directRouting: boolean;
  readonly vni?: number;
}

/** The kernel's vxlan port when none is set (IANA's is 4789; Linux keeps 8472). */
export const VXLAN_KERNEL_PORT = 8472;

export function backendModel(c: NetworkConfig): BackendModel {
  const families: Family[] = [];
  if (c.enableIPv4) families.push(4);
  if (c.enableIPv6) families.push(6);
  switch (c.backendType) {
    case 'vxlan': {
      const x = parseVxlanConfig(c.backend);
      const port = x.port || VXLAN_KERNEL_PORT;
      return {
        type: 'vxlan',
        vni: x.vni,
        directRouting: x.directRouting,
        devices: families.map((f) => ({
          name: vxlanDeviceName(x.vni, f),
          kinds: ['vxlan'],
          families: [f],
          overhead: f === 4 ? VXLAN_ENCAP_OVERHEAD_V4 : VXLAN_ENCAP_OVERHEAD_V6,
        })),
        ports: families.map((f) => ({ port, family: f, what: `vxlan (${vxlanDeviceName(x.vni, f)})` })),
      };
    }
    case 'wireguard': {
      const w = parseWireguardConfig(c.backend);
      const kinds = ['wireguard', 'tun'];
      if (w.mode === 'separate') {
        const devs = families.map((f) => ({ name: f === 4 ? WG_DEVICE : WG_DEVICE_V6, kinds, families: [f], overhead: WG_OVERHEAD }));
        return {
          type: 'wireguard',
          directRouting: false,
          devices: devs,
          ports: families.map((f) => ({ port: f === 4 ? w.listenPort : w.listenPortV6, family: f, what: `wireguard (${f === 4 ? WG_DEVICE : WG_DEVICE_V6})` })),
        };
      }
      return {
        type: 'wireguard',
        directRouting: false,
        devices: [{ name: WG_DEVICE, kinds, families, overhead: WG_OVERHEAD }],
        ports: [{ port: w.listenPort, family: w.mode === 'ipv6' ? 6 : 4, what: `wireguard (${WG_DEVICE})` }],
      };
    }
    case 'udp':
      return {
        type: 'udp',
        directRouting: false,
        devices: [{ name: 'flannel0', pattern: /^flannel\d+$/, kinds: ['tun'], families: [4], overhead: UDP_ENCAP_OVERHEAD }],
        ports: [{ port: backendInt(c.backend, 'Port', UDP_DEFAULT_PORT, 1, 65535), family: 4, what: 'udp (flanneld)' }],
      };
    case 'ipip':
      return {
        type: 'ipip',
        directRouting: c.backend['DirectRouting'] === true,
        devices: [{ name: IPIP_DEVICE, kinds: ['ipip'], families: [4], overhead: IPIP_ENCAP_OVERHEAD }],
        ports: [],
      };
    default:
      return { type: c.backendType, directRouting: false, devices: [], ports: [] };
  }
}
