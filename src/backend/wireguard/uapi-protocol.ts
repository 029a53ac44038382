/**
 * WireGuard's cross-platform userspace API (https://www.wireguard.com/xplatform/): a request is
 * `set=1` or `get=1` followed by `key=value` lines and a blank line; keys are hex; the answer ends
 * with `errno=<n>` and a blank line (0 = success, a negative errno otherwise). Pure encoding and
 * parsing; the socket is uapi-client.ts.
 */
import { IPAddress } from '../../ip/ip-address.js';
import { IPNetwork } from '../../ip/ip-network.js';
import { newPeerBuilder, type WgDeviceSet, type WgDeviceState, type WgEndpoint, type WgPeerBuilder, type WgPeerState } from '../../kernel/wg-types.js';

/** `1.2.3.4:51820` or `[fd00::1]:51820`. */
export function formatEndpoint(e: WgEndpoint): string {
  return e.ip.family === 6 ? `[${e.ip.toString()}]:${e.port}` : `${e.ip.toString()}:${e.port}`;
}

export function parseEndpoint(text: string): WgEndpoint | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return undefined;
  const ip = IPAddress.tryParse((m[1] as string).replace(/%.*$/, ''));
  const port = Number(m[2]);
  return ip && port <= 65535 ? { ip, port } : undefined;
}

/** The text of a `set=1` request, blank line included. */
export function encodeSet(cfg: WgDeviceSet): string {
  const lines = ['set=1'];
  if (cfg.privateKey) lines.push(`private_key=${cfg.privateKey.toString('hex')}`);
  if (cfg.listenPort !== undefined) lines.push(`listen_port=${cfg.listenPort}`);
  if (cfg.fwmark !== undefined) lines.push(`fwmark=${cfg.fwmark}`);
  if (cfg.replacePeers) lines.push('replace_peers=true');
  for (const p of cfg.peers ?? []) {
    lines.push(`public_key=${p.publicKey.toString('hex')}`);
    if (p.remove) {
      lines.push('remove=true');
      continue;
    }
    if (p.updateOnly) lines.push('update_only=true');
    if (p.presharedKey) lines.push(`preshared_key=${p.presharedKey.toString('hex')}`);
    if (p.endpoint) lines.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    if (p.persistentKeepalive !== undefined) lines.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    if (p.replaceAllowedIps) lines.push('replace_allowed_ips=true');
    for (const a of p.allowedIps ?? []) lines.push(`allowed_ip=${a.toString()}`);
  }
  return `${lines.join('\n')}\n\n`;
}

export const GET_REQUEST = 'get=1\n\n';

/** Whether `text` holds a whole answer (it ends with the errno line and the blank line). */
export function answerComplete(text: string): boolean {
  return /(^|\n)errno=-?\d+\n\n$/.test(text);
}

/** The errno of an answer (0 = success); NaN when there is none. */
export function answerErrno(text: string): number {
  const m = /(?:^|\n)errno=(-?\d+)\n\n$/.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

function hexKey(v: string): Buffer | undefined {
  if (!/^[0-9a-f]{64}$/i.test(v)) return undefined;
  const k = Buffer.from(v, 'hex');
  return k.every((b) => b === 0) ? undefined : k;
}

/** Parses the answer to `get=1`; unknown keys are ignored (newer implementations add some). */
export function parseGet(text: string): WgDeviceState {
  let privateKey: Buffer | undefined;
  let listenPort = 0;
  let fwmark = 0;
  const peers: WgPeerState[] = [];
  let peer: WgPeerBuilder | undefined;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      const pk = hexKey(value);
      peer = pk ? newPeerBuilder(pk) : undefined;
      if (peer) peers.push(peer);
      continue;
    }
    if (!peer) {
      if (key === 'private_key') privateKey = hexKey(value);
      else if (key === 'listen_port') listenPort = Number(value) || 0;
      else if (key === 'fwmark') fwmark = Number(value) || 0;
      continue;
    }
    switch (key) {
      case 'preshared_key':
        peer.presharedKey = hexKey(value);
        break;
      case 'endpoint':
        peer.endpoint = parseEndpoint(value);
        break;
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = Number(value) || 0;
        break;
      case 'allowed_ip':
        try {
          peer.allowedIps.push(IPNetwork.parse(value));
        } catch {
          // not a prefix: ignored
        }
        break;
      case 'last_handshake_time_sec':
        peer.lastHandshakeSec = Number(value) || 0;
        break;
      case 'rx_bytes':
        peer.rxBytes = BigInt(/^\d+$/.test(value) ? value : 0);
        break;
      case 'tx_bytes':
        peer.txBytes = BigInt(/^\d+$/.test(value) ? value : 0);
        break;
      default:
    }
  }
  return { privateKey, publicKey: undefined, listenPort, fwmark, peers };
}
