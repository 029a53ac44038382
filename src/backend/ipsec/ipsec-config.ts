import { ConfigError } from '../../errors.js';
import type { IPAddress } from '../../ip/ip-address.js';
import type { LeaseAttrs } from '../../lease/lease.js';
import { backendBool, backendString } from '../backend-fields.js';

/** The ipsec backend's options, as flannel documents them. */
export interface IpsecConfig {
  /** The pre-shared key every host authenticates IKE with. Never logged. */
  readonly psk: string;
  /** Encapsulate ESP in UDP (port 4500) even when no NAT is detected. */
  readonly udpEncap: boolean;
  /** The child SA's ESP proposal, in strongSwan's notation. */
  readonly espProposal: string;
}

/** flannel's default ESP proposal. */
export const IPSEC_DEFAULT_ESP_PROPOSAL = 'aes128gcm16-sha256-prfsha256-ecp256';
/** flannel refuses a shorter PSK. */
export const IPSEC_MIN_PSK_LENGTH = 96;

/** Parses the `Backend` object of a `"Type": "ipsec"` config; errors name `Backend.<Field>`, never the PSK's value. */
export function parseIpsecConfig(raw: Readonly<Record<string, unknown>>): IpsecConfig {
  const espProposal = backendString(raw, 'ESPProposal', IPSEC_DEFAULT_ESP_PROPOSAL);
  if (espProposal.trim() === '') throw new ConfigError('Backend.ESPProposal', espProposal, 'must not be empty');
  return Object.freeze({
    psk: parsePsk(raw['PSK']),
    udpEncap: backendBool(raw, 'UDPEncap', false),
    espProposal,
  });
}

/** The lease this host takes: flannel writes BackendType "ipsec" and no BackendData. */
export function ipsecLeaseAttrs(publicIP: IPAddress): LeaseAttrs {
  return { publicIP, publicIPv6: undefined, backendType: 'ipsec', backendData: undefined, backendV6Data: undefined };
}

function parsePsk(v: unknown): string {
  if (v === undefined || v === null || v === '') {
    throw new ConfigError('Backend.PSK', '<missing>', `is required (at least ${IPSEC_MIN_PSK_LENGTH} characters)`);
  }
  if (typeof v !== 'string') throw new ConfigError('Backend.PSK', `<${typeof v}, not shown>`, 'must be a string');
  // flannel counts bytes (Go's len of a string), so a multi-byte character counts for its UTF-8 length.
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes < IPSEC_MIN_PSK_LENGTH) {
    throw new ConfigError('Backend.PSK', `<${bytes} bytes, not shown>`, `must be at least ${IPSEC_MIN_PSK_LENGTH} characters (UTF-8 bytes, as flannel counts)`);
  }
  return v;
}
