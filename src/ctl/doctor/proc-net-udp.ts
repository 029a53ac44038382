/**
 * The UDP sockets of this network namespace, from the kernel's /proc/net/udp and /proc/net/udp6
 * tables (what `ss -u -a` reads too): kernel-owned sockets such as the vxlan device's and
 * WireGuard's are listed as well as processes' sockets.
 */
import { IPAddress } from '../../ip/ip-address.js';
import type { UdpSocket } from './doctor-facts.js';

/** A little-endian 32-bit word in hex ("0100007F") as its four bytes in network order. */
function wordBytes(hex: string): number[] {
  const v = Number.parseInt(hex, 16);
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Parses one table; lines that do not parse are skipped. `family` says which table it is. */
export function parseProcNetUdp(text: string, family: 4 | 6): UdpSocket[] {
  const out: UdpSocket[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s/.exec(line);
    if (!m) continue;
    const [, addrHex = '', portHex = ''] = m;
    const want = family === 4 ? 8 : 32;
    if (addrHex.length !== want) continue;
    const bytes: number[] = [];
    for (let i = 0; i < want; i += 8) bytes.push(...wordBytes(addrHex.slice(i, i + 8)));
    let value = 0n;
    for (const b of bytes) value = (value << 8n) | BigInt(b);
    out.push({ ip: IPAddress.of(family, value), port: Number.parseInt(portHex, 16) });
  }
  return out;
}
