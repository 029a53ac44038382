import { ConfigError } from '../../errors.js';
import { backendInt, backendString } from '../backend-fields.js';
import { parseWireguardKey } from './wireguard-key.js';

/**
 * How the tunnels are laid out (flannel's `Mode`): `separate` (default) runs `flannel-wg` for
 * IPv4 and `flannel-wg-v6` for IPv6; the others run one device, `flannel-wg`, for both families,
 * reaching each peer over IPv4 (`ipv4`), IPv6 (`ipv6`), or whichever is likelier to work (`auto`).
 */
export type WireguardMode = 'separate' | 'auto' | 'ipv4' | 'ipv6';

const MODES: readonly WireguardMode[] = ['separate', 'auto', 'ipv4', 'ipv6'];

/** The wireguard backend's options, as flannel documents them. */
export interface WireguardConfig {
  readonly listenPort: number;
  readonly listenPortV6: number;
  /** The underlay MTU to derive the device MTU from; 0 = the public interface's MTU. */
  readonly mtu: number;
  /** The pre-shared key (32 bytes) of every peer, or undefined. Never logged. */
  readonly psk: Buffer | undefined;
  /** Seconds; 0 = off. */
  readonly persistentKeepalive: number;
  readonly mode: WireguardMode;
}

export const WG_DEFAULT_PORT = 51820;
export const WG_DEFAULT_PORT_V6 = 51821;
/**
 * What WireGuard adds to each packet, as flannel counts it: an IPv6 header (40), UDP (8), the
 * message type (4), the receiver index (4), the nonce (8) and the authentication tag (16).
 */
export const WG_OVERHEAD = 80;
export const WG_DEVICE = 'flannel-wg';
export const WG_DEVICE_V6 = 'flannel-wg-v6';
/** The smallest device MTU accepted: IPv6's minimum link MTU. */
const MIN_DEVICE_MTU = 1280;

/** Parses the `Backend` object of a `"Type": "wireguard"` config; errors name `Backend.<Field>` and the value. */
export function parseWireguardConfig(raw: Readonly<Record<string, unknown>>): WireguardConfig {
  const mtu = backendInt(raw, 'MTU', 0, 0, 65535);
  if (mtu !== 0 && mtu - WG_OVERHEAD < MIN_DEVICE_MTU) {
    throw new ConfigError('Backend.MTU', mtu, `must be 0 (the interface's) or at least ${MIN_DEVICE_MTU + WG_OVERHEAD} (the device gets MTU - ${WG_OVERHEAD})`);
  }
  const mode = backendString(raw, 'Mode', 'separate');
  if (!(MODES as readonly string[]).includes(mode)) throw new ConfigError('Backend.Mode', mode, `must be one of ${MODES.join(', ')}`);
  return Object.freeze({
    listenPort: backendInt(raw, 'ListenPort', WG_DEFAULT_PORT, 1, 65535),
    listenPortV6: backendInt(raw, 'ListenPortV6', WG_DEFAULT_PORT_V6, 1, 65535),
    mtu,
    psk: parsePsk(raw['PSK']),
    persistentKeepalive: backendInt(raw, 'PersistentKeepaliveInterval', 0, 0, 65535),
    mode: mode as WireguardMode,
  });
}

/** The PSK: a base64 32-byte key, as `wg genpsk` prints it. The value itself is never echoed. */
function parsePsk(v: unknown): Buffer | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError('Backend.PSK', v, 'must be a string (a base64 32-byte key, as `wg genpsk` prints)');
  const key = parseWireguardKey(v);
  if (!key) throw new ConfigError('Backend.PSK', redacted(v), 'must be a base64 32-byte key, as `wg genpsk` prints');
  return key;
}

/** What an error shows of a secret: its length only. */
function redacted(secret: string): string {
  return `<${secret.length} characters, not shown>`;
}
