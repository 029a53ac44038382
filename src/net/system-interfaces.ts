import { createSocket } from 'node:dgram';
import { readFile as readFileCallback } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { IPAddress } from '../ip/ip-address.js';
import type { HostInterface, InterfaceSource } from './external-interface.js';

/** Not node:fs/promises, whose loading costs the agent ~1.4 MiB of RSS. */
const readFile = promisify(readFileCallback);

/**
 * Interface facts of the current network namespace from Node's os module, sysfs and procfs.
 * Read-only: nothing here changes the kernel.
 */
export class SystemInterfaces implements InterfaceSource {
  async list(): Promise<HostInterface[]> {
    const out: HostInterface[] = [];
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      out.push({
        name,
        mtu: await readNumber(`/sys/class/net/${name}/mtu`),
        up: (await readNumber(`/sys/class/net/${name}/flags`, 16)) % 2 === 1,
        addresses: (addrs ?? []).flatMap((a) => {
          const ip = IPAddress.tryParse(a.address);
          return ip ? [ip] : [];
        }),
      });
    }
    return out;
  }

  async defaultRouteInterface(family: 4 | 6): Promise<string | undefined> {
    if (family === 4) {
      // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; default: dest 0, mask 0.
      const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
      let best: { iface: string; metric: number } | undefined;
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue;
        const metric = Number(f[6]);
        if (!best || metric < best.metric) best = { iface: f[0] ?? '', metric };
      }
      return best?.iface;
    }
    // dest(32 hex) dlen src slen nexthop metric refcnt use flags iface
    const text = await readFile('/proc/net/ipv6_route', 'utf8').catch(() => '');
    let best: { iface: string; metric: number } | undefined;
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !/^0{32}$/.test(f[0] ?? '') || f[1] !== '00' || f[9] === 'lo') continue;
      const metric = parseInt(f[5] ?? 'ffffffff', 16);
      if (!best || metric < best.metric) best = { iface: f[9] ?? '', metric };
    }
    return best?.iface;
  }

  /** Asks the kernel for the source address by connecting a UDP socket (no packet is sent). */
  async routeTo(dst: IPAddress): Promise<{ iface: string; src: IPAddress } | undefined> {
    const sock = createSocket(dst.family === 4 ? 'udp4' : 'udp6');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.connect(9, dst.toString(), () => resolve());
      });
      const src = IPAddress.tryParse(sock.address().address);
      if (!src) return undefined;
      const iface = (await this.list()).find((i) => i.addresses.some((a) => a.equals(src)));
      return iface ? { iface: iface.name, src } : undefined;
    } catch {
      return undefined;
    } finally {
      sock.close();
    }
  }
}

async function readNumber(path: string, radix = 10): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '0');
  const n = radix === 16 ? parseInt(text.trim().replace(/^0x/, ''), 16) : parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : 0;
}
