import { InterfaceError } from '../errors.js';
import { IPAddress } from '../ip/ip-address.js';
import type { Logger } from '../log/logger.js';
import type { ExternalInterface, HostInterface, InterfaceSource } from './external-interface.js';

export interface SelectionOptions {
  /** -iface: names or addresses, tried in order. */
  readonly ifaces: readonly string[];
  /** -iface-regex: matched against addresses first, then names. */
  readonly ifaceRegexes: readonly string[];
  readonly ifaceCanReach?: string | undefined;
  readonly publicIP?: string | undefined;
  readonly publicIPv6?: string | undefined;
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
}

interface Candidate {
  readonly iface: HostInterface;
  /** The address that selected the interface, if an address did. */
  readonly addr?: IPAddress | undefined;
  readonly why: string;
}

interface Resolved extends Candidate {
  readonly ifaceAddr: IPAddress | undefined;
  readonly ifaceV6Addr: IPAddress | undefined;
}

/**
 * Chooses the external interface as flanneld does, and logs which one and why. As in flanneld,
 * -iface entries are tried in order, then -iface-regex patterns, then -iface-can-reach; a
 * candidate without a usable address of each enabled family falls through to the next. With
 * none of them, the interface holding -public-ip (-public-ipv6 when IPv6-only) is used, else
 * the one of the default route.
 */
export async function selectExternalInterface(
  source: InterfaceSource,
  opts: SelectionOptions,
  log: Logger,
): Promise<ExternalInterface> {
  const all = await source.list();
  const family: 4 | 6 = opts.enableIPv4 ? 4 : 6;
  const publicIP = opts.enableIPv4 ? parsePublic(opts.publicIP, 4, '-public-ip') : undefined;
  const publicIPv6 = opts.enableIPv6 ? parsePublic(opts.publicIPv6, 6, '-public-ipv6') : undefined;
  const failures: string[] = [];
  const attempt = (c: Candidate | undefined, spec: string): Resolved | undefined => {
    const r = c ? resolve(c, opts) : 'no match';
    if (typeof r === 'string') {
      failures.push(`${spec}: ${r}`);
      log.warn(`${spec}: ${r}; trying the next choice`);
      return undefined;
    }
    return r;
  };

  let chosen: Resolved | undefined;
  for (const spec of opts.ifaces) {
    const ip = IPAddress.tryParse(spec);
    const iface = ip ? all.find((i) => i.addresses.some((a) => a.equals(ip))) : all.find((i) => i.name === spec);
    chosen = attempt(iface && { iface, addr: ip, why: `-iface=${spec}` }, `-iface=${spec}`);
    if (chosen) break;
  }
  for (const pattern of opts.ifaceRegexes) {
    if (chosen) break;
    chosen = attempt(matchRegex(all, compile(pattern), family, pattern), `-iface-regex=${pattern}`);
  }
  if (!chosen && opts.ifaceCanReach) {
    const spec = `-iface-can-reach=${opts.ifaceCanReach}`;
    const dst = IPAddress.tryParse(opts.ifaceCanReach);
    if (!dst) throw new InterfaceError(`${spec}: not an IP address`);
    const route = await source.routeTo(dst);
    const iface = route && all.find((i) => i.name === route.iface);
    chosen = attempt(iface && { iface, addr: route.src, why: `it routes to ${spec}` }, spec);
  }
  const explicit = opts.ifaces.length > 0 || opts.ifaceRegexes.length > 0 || Boolean(opts.ifaceCanReach);
  if (explicit && !chosen) {
    throw new InterfaceError(`no usable interface matches the given choices (${failures.join('; ')})`);
  }
  if (!chosen) {
    const pub = family === 4 ? publicIP : publicIPv6;
    const holder = pub && all.find((i) => i.addresses.some((a) => a.equals(pub)));
    if (holder && pub) {
      chosen = attempt({ iface: holder, addr: pub, why: `it holds ${family === 4 ? '-public-ip' : '-public-ipv6'}=${pub}` }, holder.name);
    }
  }
  if (!chosen) {
    const name = await source.defaultRouteInterface(family);
    const iface = name ? all.find((i) => i.name === name) : undefined;
    if (!iface) throw new InterfaceError(`no default IPv${family} route: pass -iface, -iface-regex or -iface-can-reach`);
    const r = resolve({ iface, why: `it holds the default IPv${family} route` }, opts);
    if (typeof r === 'string') throw new InterfaceError(r);
    chosen = r;
  }

  const { iface, ifaceAddr, ifaceV6Addr } = chosen;
  const extAddr = opts.enableIPv4 ? (publicIP ?? ifaceAddr) : undefined;
  const extV6Addr = opts.enableIPv6 ? (publicIPv6 ?? ifaceV6Addr) : undefined;
  const addrText = [ifaceAddr, ifaceV6Addr].filter((a) => a).join(', ');
  log.info(`Using interface ${iface.name} with address ${addrText} (MTU ${iface.mtu}) because ${chosen.why}`);
  const pub = [extAddr, extV6Addr].filter((a) => a).join(', ');
  log.info(`Using ${pub} as external address${publicIP || publicIPv6 ? ' (from -public-ip/-public-ipv6)' : ''}`);
  return { name: iface.name, mtu: iface.mtu, ifaceAddr, ifaceV6Addr, extAddr, extV6Addr };
}

/** The candidate's addresses for each enabled family, or why it cannot be used. */
function resolve(c: Candidate, opts: SelectionOptions): Resolved | string {
  const pick = (fam: 4 | 6) =>
    c.addr?.family === fam ? c.addr : c.iface.addresses.find((a) => a.family === fam && !a.isLinkLocal() && !a.isLoopback());
  const ifaceAddr = opts.enableIPv4 ? pick(4) : undefined;
  const ifaceV6Addr = opts.enableIPv6 ? pick(6) : undefined;
  if (opts.enableIPv4 && !ifaceAddr) return `interface ${c.iface.name} has no IPv4 address`;
  if (opts.enableIPv6 && !ifaceV6Addr) return `interface ${c.iface.name} has no global IPv6 address`;
  if (c.iface.mtu <= 0) return `interface ${c.iface.name} reports no MTU`;
  return { ...c, ifaceAddr, ifaceV6Addr };
}

function matchRegex(all: readonly HostInterface[], re: RegExp, family: 4 | 6, pattern: string): Candidate | undefined {
  for (const iface of all) {
    const addr = iface.addresses.find((a) => a.family === family && re.test(a.toString()));
    if (addr) return { iface, addr, why: `address ${addr.toString()} matches -iface-regex=${pattern}` };
  }
  const iface = all.find((i) => re.test(i.name));
  return iface ? { iface, why: `name ${iface.name} matches -iface-regex=${pattern}` } : undefined;
}

function compile(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InterfaceError(`-iface-regex=${pattern}: not a valid regular expression`, { cause: err });
  }
}

function parsePublic(text: string | undefined, family: 4 | 6, flag: string): IPAddress | undefined {
  if (!text) return undefined;
  const ip = IPAddress.tryParse(text);
  if (!ip || ip.family !== family) throw new InterfaceError(`${flag}=${text}: not an IPv${family} address`);
  return ip;
}
