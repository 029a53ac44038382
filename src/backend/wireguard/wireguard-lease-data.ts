import { parseWireguardKey } from './wireguard-key.js';

/** flannel's lease data for wireguard: {"PublicKey":"<base64>","Port":51820} (this key order). */
export interface WireguardLeaseData {
  readonly PublicKey: string;
  readonly Port: number;
}

export function wireguardLeaseData(publicKey: Buffer, port: number): WireguardLeaseData {
  return { PublicKey: publicKey.toString('base64'), Port: port };
}

/** A peer's key and port as its lease gives them; `port` undefined means "not said" (older flannel). */
export interface PeerLeaseData {
  readonly publicKey: Buffer;
  readonly port: number | undefined;
}

/**
 * Reads one of a peer lease's data fields (`BackendData` or `BackendV6Data`); a string says why
 * it is unusable. A missing or zero `Port` is left to the caller (flannel then uses its own
 * listen port, for leases of older versions).
 */
export function parsePeerLeaseData(raw: unknown, field: string): PeerLeaseData | string {
  if (raw === undefined || raw === null) return `no ${field}`;
  if (typeof raw !== 'object' || Array.isArray(raw)) return `${field} is not a JSON object`;
  const r = raw as Record<string, unknown>;
  const pk = r['PublicKey'];
  const key = typeof pk === 'string' ? parseWireguardKey(pk) : undefined;
  if (!key) return `${field}.PublicKey ${(JSON.stringify(pk) ?? 'undefined').slice(0, 60)} is not a base64 32-byte key`;
  // The all-zero key is no peer's: a peer set with it takes the allowed IPs and reaches nobody.
  if (key.every((b) => b === 0)) return `${field}.PublicKey ${pk as string} is all zeros`;
  const port = r['Port'];
  if (port === undefined || port === null || port === 0) return { publicKey: key, port: undefined };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return `${field}.Port ${JSON.stringify(port)} is not a port (1-65535)`;
  }
  return { publicKey: key, port };
}
