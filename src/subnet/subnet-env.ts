// node:fs's callback API, not node:fs/promises: loading that (with the readline and stream
// modules it brings) costs the packaged agent ~1.4 MiB of RSS for five calls at start-up.
import { close, fsync, mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { IPNetwork } from '../ip/ip-network.js';

/** The facts flannel writes into subnet.env for the CNI plugin. */
export interface SubnetEnv {
  readonly network?: IPNetwork | undefined;
  readonly subnet?: IPNetwork | undefined;
  readonly ipv6Network?: IPNetwork | undefined;
  readonly ipv6Subnet?: IPNetwork | undefined;
  readonly mtu: number;
  readonly ipMasq: boolean;
}

/** Text in flannel's exact format; FLANNEL_SUBNET is the subnet's first host address with its length. */
export function renderSubnetEnv(env: SubnetEnv): string {
  let s = '';
  if (env.network && env.subnet) {
    s += `FLANNEL_NETWORK=${env.network.toString()}\nFLANNEL_SUBNET=${env.subnet.firstHost.toString()}/${env.subnet.prefixLength}\n`;
  }
  if (env.ipv6Network && env.ipv6Subnet) {
    s += `FLANNEL_IPV6_NETWORK=${env.ipv6Network.toString()}\nFLANNEL_IPV6_SUBNET=${env.ipv6Subnet.firstHost.toString()}/${env.ipv6Subnet.prefixLength}\n`;
  }
  return `${s}FLANNEL_MTU=${env.mtu}\nFLANNEL_IPMASQ=${env.ipMasq ? 'true' : 'false'}\n`;
}

/** Writes subnet.env atomically: a temp file in the same directory, fsync, rename. */
export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  await promisify(mkdir)(dirname(path), { recursive: true, mode: 0o755 });
  // Unique per process and call; not node:crypto, which would cost the agent ~2.5 MiB of RSS.
  const tmp = `${path}.${process.pid}-${Math.random().toString(16).slice(2, 10)}.tmp`;
  try {
    const fd = await promisify(open)(tmp, 'w', 0o644);
    try {
      await promisify(writeFile)(fd, renderSubnetEnv(env));
      await promisify(fsync)(fd);
    } finally {
      await promisify(close)(fd);
    }
    await promisify(rename)(tmp, path);
  } catch (err) {
    await promisify(unlink)(tmp).catch(() => {});
    throw err;
  }
}

/** Parses KEY=VALUE lines; blank lines and # comments ignored. */
export function parseEnvText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) out.set(t.slice(0, eq).trim(), t.slice(eq + 1).trim());
  }
  return out;
}

/**
 * The subnets recorded in an existing subnet.env (for reuse after a restart). Missing file or
 * unparsable values give undefined fields, never an error: the file is only a hint.
 */
export async function readPreviousSubnets(path: string): Promise<{ subnet?: IPNetwork; ipv6Subnet?: IPNetwork }> {
  let text: string;
  try {
    text = await promisify(readFile)(path, 'utf8');
  } catch {
    return {};
  }
  const vars = parseEnvText(text);
  const net = (name: string) => {
    const v = vars.get(name);
    if (!v) return undefined;
    try {
      return IPNetwork.parse(v);
    } catch {
      return undefined;
    }
  };
  const out: { subnet?: IPNetwork; ipv6Subnet?: IPNetwork } = {};
  const v4 = net('FLANNEL_SUBNET');
  const v6 = net('FLANNEL_IPV6_SUBNET');
  if (v4) out.subnet = v4;
  if (v6) out.ipv6Subnet = v6;
  return out;
}
