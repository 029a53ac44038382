/**
 * subnet.env against the store: FLANNEL_NETWORK is the config's network, FLANNEL_SUBNET is this
 * host's lease (its first address, as flanneld writes it), IPv6 likewise. The MTU is checked
 * against the device (device-check.ts), FLANNEL_IPMASQ against the rules (rule-check.ts).
 */
import type { IPNetwork } from '../../../ip/ip-network.js';
import { ok, problem, type Finding } from '../finding.js';
import type { DoctorView } from '../doctor-view.js';

const CHECK = 'subnet-env';

export function checkSubnetEnv(v: DoctorView): Finding[] {
  const f = v.facts.subnetEnv;
  if (!f.vars) {
    return [
      problem(
        CHECK,
        f.missing ? `${f.path} does not exist` : `${f.path} cannot be read: ${f.error ?? 'unknown error'}`,
        'the flannel CNI plugin reads it for every pod: pods on this host cannot start (the plugin says "subnet file ... does not exist: is flanneld running?"; Go flannel\'s "failed to load flannel \'subnet.env\' file")',
        'flanneld writes it once it holds its lease: check that flanneld runs (and with the same -subnet-file as the CNI config\'s subnetFile), and read its log',
      ),
    ];
  }
  const env = v.env ?? {};
  const out: Finding[] = [];
  const stale = (what: string, have: string | undefined, want: string) =>
    problem(
      CHECK,
      `${f.path}: ${what}=${have ?? '(missing)'}, the store says ${want}`,
      'the CNI plugin gives new pods addresses and routes from this file: pods get addresses no other host routes here, or the wrong MTU and masquerading',
      'restart flanneld (it rewrites the file from its lease), then re-create the pods started since the file went stale',
    );
  const c = v.config;
  const pairs: [string, IPNetwork | undefined, IPNetwork | undefined][] = [
    ['FLANNEL_NETWORK', env.network, c?.enableIPv4 ? c.network : undefined],
    ['FLANNEL_IPV6_NETWORK', env.ipv6Network, c?.enableIPv6 ? c.ipv6Network : undefined],
  ];
  for (const [name, have, want] of pairs) {
    if (want && !want.equals(have)) out.push(stale(name, have?.toString(), want.toString()));
  }
  const own = v.own?.lease;
  if (own) {
    const subs: [string, string | undefined, IPNetwork | undefined][] = [
      ['FLANNEL_SUBNET', env.subnetText, own.subnet],
      ['FLANNEL_IPV6_SUBNET', env.ipv6SubnetText, own.ipv6Subnet],
    ];
    for (const [name, have, lease] of subs) {
      if (!lease) continue;
      const want = `${lease.firstHost.toString()}/${lease.prefixLength}`;
      if (have !== want) out.push(stale(name, have, `${want} (lease ${lease.toString()})`));
    }
  }
  if (env.mtu === undefined) out.push(stale('FLANNEL_MTU', f.vars.get('FLANNEL_MTU'), 'a number'));
  if (env.ipMasq === undefined) out.push(stale('FLANNEL_IPMASQ', f.vars.get('FLANNEL_IPMASQ'), 'true or false'));
  if (out.length === 0) {
    out.push(ok(CHECK, `${f.path}: FLANNEL_SUBNET=${env.subnetText ?? env.ipv6SubnetText ?? '?'} FLANNEL_MTU=${env.mtu ?? '?'} FLANNEL_IPMASQ=${String(env.ipMasq)}${own ? ' matches the lease' : ''}`));
  }
  return out;
}
