/**
 * What the plugin reads from flanneld's subnet.env, as flannel's plugin reads it:
 * FLANNEL_NETWORK / FLANNEL_IPV6_NETWORK (comma-separated lists, duplicates dropped),
 * FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET (masked to the network: 10.244.23.1/24 is
 * 10.244.23.0/24), FLANNEL_MTU and FLANNEL_IPMASQ ("true" or anything else).
 */
import { readFileSync } from 'node:fs';
import { CniError } from '../errors.js';
import { IPNetwork } from '../ip/ip-network.js';
import { parseEnvText } from '../subnet/subnet-env.js';
import { CniCode } from './cni-spec.js';

export interface SubnetFacts {
  readonly networks: readonly IPNetwork[];
  readonly subnet: IPNetwork | undefined;
  readonly ipv6Networks: readonly IPNetwork[];
  readonly ipv6Subnet: IPNetwork | undefined;
  readonly mtu: number;
  readonly ipMasq: boolean;
}

/**
 * Reads subnet.env. Errors: 11 (try again later) when the file does not exist yet (flanneld
 * has not started or not leased a subnet), 5 when it cannot be read, 6 when a value does not
 * parse or a variable is missing.
 */
export async function loadSubnetFacts(path: string): Promise<SubnetFacts> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CniError(CniCode.TRY_AGAIN_LATER, `subnet file ${path} does not exist: is flanneld running?`, { cause: err });
    }
    throw new CniError(CniCode.IO_FAILURE, `cannot read subnet file ${path}: ${code ?? (err as Error).message}`, { cause: err });
  }
  return parseSubnetFacts(text, path);
}

/** Parses subnet.env text (`path` names the file in errors). */
export function parseSubnetFacts(text: string, path: string): SubnetFacts {
  const vars = parseEnvText(text);
  const bad = (name: string, value: string, why: string) =>
    new CniError(CniCode.DECODING_FAILURE, `subnet file ${path}: ${name}=${JSON.stringify(value)}: ${why}`);
  const cidr = (name: string, value: string): IPNetwork => {
    try {
      return IPNetwork.parse(value);
    } catch (err) {
      throw bad(name, value, (err as Error).message);
    }
  };
  const list = (name: string): IPNetwork[] => {
    const v = vars.get(name);
    if (v === undefined) return [];
    const out: IPNetwork[] = [];
    for (const part of v.split(',')) {
      const n = cidr(name, part);
      if (!out.some((o) => o.equals(n))) out.push(n);
    }
    return out;
  };
  const one = (name: string) => {
    const v = vars.get(name);
    return v === undefined ? undefined : cidr(name, v);
  };
  const networks = list('FLANNEL_NETWORK');
  const ipv6Networks = list('FLANNEL_IPV6_NETWORK');
  const subnet = one('FLANNEL_SUBNET');
  const ipv6Subnet = one('FLANNEL_IPV6_SUBNET');
  const mtuText = vars.get('FLANNEL_MTU');
  let mtu: number | undefined;
  if (mtuText !== undefined) {
    if (!/^\d{1,10}$/.test(mtuText) || Number(mtuText) > 0xffffffff) throw bad('FLANNEL_MTU', mtuText, 'not an unsigned 32-bit integer');
    mtu = Number(mtuText);
  }
  const masqText = vars.get('FLANNEL_IPMASQ');

  const missing: string[] = [];
  if (networks.length === 0 && ipv6Networks.length === 0) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (!subnet && !ipv6Subnet) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (masqText === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0 || mtu === undefined) {
    throw new CniError(CniCode.DECODING_FAILURE, `subnet file ${path} is missing ${missing.join(', ')}`);
  }
  return { networks, subnet, ipv6Networks, ipv6Subnet, mtu, ipMasq: masqText === 'true' };
}
