import { ConfigError } from '../../errors.js';
import { backendBool, backendInt, backendString } from '../backend-fields.js';

/** The vxlan backend's options, as flannel documents them. */
export interface VxlanConfig {
  readonly vni: number;
  /** UDP port; 0 = the kernel default (8472 on Linux). */
  readonly port: number;
  readonly gbp: boolean;
  readonly learning: boolean;
  readonly directRouting: boolean;
  /** 0 = derive from the underlay interface. */
  readonly mtu: number;
  readonly macPrefix: string;
}

export const VXLAN_ENCAP_OVERHEAD_V4 = 50;
export const VXLAN_ENCAP_OVERHEAD_V6 = 70;

export function parseVxlanConfig(raw: Readonly<Record<string, unknown>>): VxlanConfig {
  const mtu = backendInt(raw, 'MTU', 0, 0, 65535);
  if (mtu !== 0 && mtu < 1280) throw new ConfigError('Backend.MTU', mtu, 'must be 0 (automatic) or at least 1280');
  return Object.freeze({
    vni: backendInt(raw, 'VNI', 1, 0, 0xffffff),
    port: backendInt(raw, 'Port', 0, 0, 65535),
    gbp: backendBool(raw, 'GBP', false),
    learning: backendBool(raw, 'Learning', false),
    directRouting: backendBool(raw, 'DirectRouting', false),
    mtu,
    macPrefix: backendString(raw, 'MacPrefix', '0E:2A'),
  });
}

export function vxlanDeviceName(vni: number, family: 4 | 6): string {
  return family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`;
}
