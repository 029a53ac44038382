/**
 * For every remote lease, the kernel holds what the backend programs for it: vxlan a route via
 * the peer's VTEP address onlink, a permanent neighbour entry to its VtepMAC and an FDB entry from
 * that MAC to its public IP (or, with DirectRouting and the peer on-link, a route via its public
 * IP); host-gw a route via its public IP; ipip a route via its public IP through flannel.ipip;
 * WireGuard a peer with its key, endpoint and subnet. Also: routes into the cluster network on
 * our devices that no lease explains (left from a host that is gone).
 */
import type { IPAddress } from '../../../ip/ip-address.js';
import { IPNetwork } from '../../../ip/ip-network.js';
import { normalizeMac } from '../../../kernel/mac-address.js';
import type { Route } from '../../../kernel/route.js';
import type { Lease } from '../../../lease/lease.js';
import type { KernelFacts } from '../doctor-facts.js';
import { leaseName, linkNamed, type DoctorView } from '../doctor-view.js';
import { ok, problem, warning, type Finding } from '../finding.js';
import type { BackendModel } from '../backend-model.js';

const CHECK = 'peers';
const NUD_PERMANENT = 0x80;

const FIX = 'a running flanneld puts it back within seconds (kernel event) or at its 30 s resync; if it stays missing, flanneld is stopped or failing: read its log';

function macOf(raw: unknown): string | undefined {
  const mac = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)['VtepMAC'] : undefined;
  if (typeof mac !== 'string') return undefined;
  try {
    return normalizeMac(mac);
  } catch {
    return undefined;
  }
}

function onLink(k: KernelFacts, ip: IPAddress): boolean {
  return k.addresses.some((a) => a.scope === 0 && IPNetwork.of(a.ip, a.prefixLength).contains(ip));
}

function routeTo(k: KernelFacts, dst: IPNetwork): Route | undefined {
  return k.routes.find((r) => r.dst.equals(dst) && (r.table ?? 254) === 254);
}

function describe(k: KernelFacts, r: Route): string {
  const dev = k.links.find((l) => l.index === r.linkIndex)?.name ?? `#${r.linkIndex ?? '?'}`;
  return `${r.dst.toString()}${r.gateway ? ` via ${r.gateway.toString()}` : ''} dev ${dev}${r.onlink ? ' onlink' : ''}`;
}

/** One family of one peer: what is missing or wrong, as short phrases. */
function peerGaps(k: KernelFacts, model: BackendModel, lease: Lease, fam: 4 | 6): string[] {
  const subnet = fam === 4 ? lease.subnet : lease.ipv6Subnet;
  const pub = fam === 4 ? lease.attrs.publicIP : lease.attrs.publicIPv6;
  if (!subnet) return [];
  if (!pub) return [`no public IPv${fam} address in the lease`];
  const gaps: string[] = [];
  const route = routeTo(k, subnet);
  const wantRoute = (gw: IPAddress, dev: string | undefined, onlink: boolean) => {
    const dv = dev === undefined ? undefined : linkNamed(k, dev);
    if (!route) {
      gaps.push(`route ${subnet.toString()} via ${gw.toString()}${dev ? ` dev ${dev}` : ''}${onlink ? ' onlink' : ''} missing`);
    } else if (!gw.equals(route.gateway) || (dv !== undefined && route.linkIndex !== dv.index)) {
      gaps.push(`route is ${describe(k, route)}, wanted via ${gw.toString()}${dev ? ` dev ${dev}` : ''}`);
    }
  };
  switch (model.type) {
    case 'vxlan': {
      const dev = model.devices.find((d) => d.families.includes(fam))?.name;
      const link = dev === undefined ? undefined : linkNamed(k, dev);
      if (model.directRouting && onLink(k, pub)) {
        wantRoute(pub, undefined, false);
        break;
      }
      const mac = macOf(fam === 4 ? lease.attrs.backendData : lease.attrs.backendV6Data);
      if (!mac) return [`no valid VtepMAC in the lease (flanneld skips it)`];
      wantRoute(subnet.ip, dev, true);
      if (!link) break;
      const n = k.neighbors.find((x) => x.linkIndex === link.index && x.ip.equals(subnet.ip));
      if (!n) gaps.push(`neighbour ${subnet.ip.toString()} lladdr ${mac} missing`);
      else if ((n.hardwareAddr ?? '').toLowerCase() !== mac || (n.state ?? NUD_PERMANENT) !== NUD_PERMANENT) {
        gaps.push(`neighbour ${subnet.ip.toString()} is ${n.hardwareAddr ?? '(no MAC)'} state 0x${(n.state ?? 0).toString(16)}, wanted ${mac} permanent`);
      }
      const f = k.fdb.find((x) => x.linkIndex === link.index && x.hardwareAddr.toLowerCase() === mac);
      if (!f) gaps.push(`FDB entry ${mac} dst ${pub.toString()} missing`);
      else if (!pub.equals(f.dst)) gaps.push(`FDB entry ${mac} points at ${f.dst?.toString() ?? '(nothing)'}, wanted ${pub.toString()}`);
      break;
    }
    case 'host-gw':
      if (!onLink(k, pub)) return [`public IP ${pub.toString()} is not on a network of this host: host-gw needs every host on one L2 network (flanneld skips it)`];
      wantRoute(pub, undefined, false);
      break;
    case 'ipip':
      if (fam !== 4) return [];
      wantRoute(pub, model.directRouting && onLink(k, pub) ? undefined : 'flannel.ipip', !model.directRouting);
      break;
    case 'wireguard':
      return wireguardGaps(k, model, lease, fam, subnet, pub);
    default:
      return [];
  }
  return gaps;
}

function wireguardGaps(k: KernelFacts, model: BackendModel, lease: Lease, fam: 4 | 6, subnet: IPNetwork, pub: IPAddress): string[] {
  const dev = model.devices.find((d) => d.families.includes(fam));
  if (!dev) return [];
  const state = k.wireguard.get(dev.name);
  if (!state || 'error' in state) return [];
  const raw = (fam === 6 && dev.families.length === 1 ? lease.attrs.backendV6Data : (lease.attrs.backendV6Data ?? lease.attrs.backendData)) as Record<string, unknown> | undefined;
  const key = raw?.['PublicKey'];
  if (typeof key !== 'string') return ['no PublicKey in the lease (flanneld skips it)'];
  const peer = state.peers.find((p) => p.publicKey === key);
  if (!peer) return [`WireGuard peer ${key} missing on ${dev.name}`];
  const gaps: string[] = [];
  if (!peer.allowedIps.includes(subnet.toString())) gaps.push(`peer ${key} on ${dev.name} lacks allowed IP ${subnet.toString()} (has ${peer.allowedIps.join(', ') || 'none'})`);
  if (peer.endpoint !== undefined && !peer.endpoint.startsWith(fam === 6 ? `[${pub.toString()}]` : `${pub.toString()}:`) && dev.families.length === 1) {
    gaps.push(`peer ${key} endpoint ${peer.endpoint}, the lease's public IP ${pub.toString()}`);
  }
  return gaps;
}

export function checkPeers(v: DoctorView, model: BackendModel | undefined): Finding[] {
  const k = v.facts.kernel;
  const own = v.own?.lease;
  if (!k || !model || !own || v.facts.store.leases === undefined) return [];
  if (!['vxlan', 'host-gw', 'ipip', 'wireguard', 'udp'].includes(model.type)) {
    return [ok(CHECK, `backend ${model.type}: no per-peer kernel entries that doctor can check (${v.remote.length} remote leases)`)];
  }
  const out: Finding[] = [];
  let good = 0;
  const own4 = own.attrs.backendType ?? (model.type === 'udp' ? 'udp' : undefined);
  for (const { lease } of v.remote) {
    const type = lease.attrs.backendType ?? 'udp';
    if (type !== own4) {
      out.push(
        warning(
          CHECK,
          `${leaseName(lease)} uses backend ${type}, this host ${own4 ?? '(none)'}`,
          'flanneld programs only leases of its own backend: pods on that host are unreachable from here',
          'run one backend on every host (the network config\'s Backend.Type), then restart flanneld on the odd host',
        ),
      );
      continue;
    }
    if (model.type === 'udp') {
      good++;
      continue;
    }
    const gaps = [...peerGaps(k, model, lease, 4), ...peerGaps(k, model, lease, 6)];
    if (gaps.length === 0) good++;
    else out.push(problem(CHECK, `peer ${leaseName(lease)}: ${gaps.join('; ')}`, 'pods here cannot reach the pods of that host (and its replies may not come back)', FIX));
  }
  out.push(...strayRoutes(v, k, model));
  const what =
    model.type === 'udp'
      ? `${good} remote leases; the udp backend's peer table lives inside flanneld (not visible to doctor)`
      : `${good} of ${v.remote.length} remote leases fully programmed (${entriesWord(model.type)})`;
  return [ok(CHECK, what), ...out];
}

function entriesWord(type: string): string {
  switch (type) {
    case 'vxlan':
      return 'route, neighbour, FDB entry';
    case 'wireguard':
      return 'WireGuard peer with key, endpoint and allowed IPs';
    default:
      return 'route';
  }
}

/** Routes on our devices into the cluster network that no remote lease explains. */
function strayRoutes(v: DoctorView, k: KernelFacts, model: BackendModel): Finding[] {
  const c = v.config;
  if (!c || model.type === 'wireguard' || model.type === 'udp') return [];
  const nets = [c.network, c.ipv6Network].filter((n) => n !== undefined);
  const devs = new Set(model.devices.map((d) => linkNamed(k, d.name)?.index).filter((x) => x !== undefined));
  const leased = [...v.remote, ...(v.own ? [v.own] : [])].flatMap(({ lease }) => [lease.subnet, lease.ipv6Subnet]).filter((n) => n !== undefined);
  const out: Finding[] = [];
  for (const r of k.routes) {
    if ((r.table ?? 254) !== 254 || !r.gateway || r.dst.prefixLength === 0) continue;
    if (!nets.some((n) => n.covers(r.dst) && !n.equals(r.dst))) continue;
    const ours = model.devices.length === 0 || (r.linkIndex !== undefined && devs.has(r.linkIndex)) || model.directRouting;
    if (!ours || leased.some((n) => n.equals(r.dst))) continue;
    out.push(
      warning(
        CHECK,
        `route ${describe(k, r)} has no lease behind it`,
        'a host that left (or a lease deleted by hand): traffic to that subnet goes nowhere; a new host taking the subnet gets it programmed again',
        `a running flanneld removes it at its next resync; by hand: ip route del ${r.dst.toString()}`,
      ),
    );
  }
  return out;
}
