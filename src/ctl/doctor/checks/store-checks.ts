/**
 * The store's side: the network config and leases could be read, this host holds a lease, and the
 * lease table is sound (no public IP held twice, no overlapping subnets, none outside the network).
 */
import type { IPNetwork } from '../../../ip/ip-network.js';
import { formatSeconds } from '../../output.js';
import { ok, problem, warning, type Finding } from '../finding.js';
import { leaseName, type DoctorView } from '../doctor-view.js';

export function checkStore(v: DoctorView): Finding[] {
  const s = v.facts.store;
  const out: Finding[] = [];
  if (s.configError !== undefined) {
    out.push(
      problem(
        'store',
        `network config: ${s.configError}`,
        'flanneld cannot start (or keeps waiting) without a valid network config',
        'write a valid config: flannelctl config validate, then flannelctl config set (etcd) or fix net-conf.json in the kube-flannel-cfg ConfigMap (kube)',
      ),
    );
  } else if (v.config) {
    const c = v.config;
    const nets = [c.network, c.ipv6Network].filter((n) => n !== undefined).map((n) => n.toString());
    out.push(ok('store', `network config: ${nets.join(' + ')}, backend ${c.backendType}${c.enableNFTables ? ', nftables' : ''}`));
  }
  if (s.leasesError !== undefined) {
    out.push(problem('store', `leases: ${s.leasesError}`, 'without the leases nothing about peers can be checked', 'check the store flags (-etcd-endpoints, -kube-subnet-mgr, ...) and that the store answers'));
  }
  return out;
}

export function checkOwnLease(v: DoctorView): Finding[] {
  if (v.facts.store.leases === undefined) return [];
  if (!v.own) {
    const node = v.facts.host.nodeName;
    const skipped = node === undefined ? undefined : v.facts.store.skipped?.find((n) => n.node === node);
    if (skipped) {
      return [
        problem(
          'lease',
          `node ${node} is in the API but holds no lease: ${skipped.reason}`,
          'flanneld on this node has not (or could not) set up its lease: a node without spec.podCIDR never gets one (flanneld waits, logging that the node has no pod CIDR), so pods here get no subnet.env and no other node routes to them',
          `kubectl get node ${node} -o jsonpath='{.spec.podCIDRs}' must show a CIDR inside the network: start kube-controller-manager with --allocate-node-cidrs=true --cluster-cidr=<Network> (kubeadm init --pod-network-cidr), or set it on the node; then check flanneld's log on this node`,
        ),
      ];
    }
    const who = v.facts.host.nodeName ?? [v.facts.host.publicIP, v.facts.host.publicIPv6].filter((x) => x !== undefined).map(String).join(', ');
    return [
      problem(
        'lease',
        `no lease in the store belongs to this host${who ? ` (${who})` : ' (no lease names one of its addresses as public IP)'}`,
        'without a lease flanneld has not started its data path: pods here get no subnet.env and no other host routes to them',
        'check that flanneld runs on this host and read its log; if it runs with -public-ip (or behind NAT), give doctor the same -public-ip',
      ),
    ];
  }
  const l = v.own.lease;
  const out: Finding[] = [];
  const now = v.facts.gatheredAt ?? Date.now();
  const ttl = v.own.ttlSeconds ?? (l.expiration ? (l.expiration.getTime() - now) / 1000 : undefined);
  const exp = v.own.reserved ? ', reserved (no TTL)' : ttl !== undefined ? `, expires in ${formatSeconds(ttl)}` : '';
  out.push(ok('lease', `this host's lease: ${leaseName(l)}, backend ${l.attrs.backendType ?? '(none)'}${exp} [${v.ownHow ?? ''}]`));
  const want = v.config?.backendType;
  // The udp backend writes no BackendType into its lease (as flannel's).
  const have = l.attrs.backendType ?? (want === 'udp' ? 'udp' : undefined);
  if (want !== undefined && have !== want) {
    out.push(
      problem(
        'lease',
        `this host's lease says backend ${have ?? '(none)'}, the network config says ${want}`,
        'peers program this host with the lease\'s backend; a host that runs another one is unreachable from them',
        'restart flanneld so that it renews its lease with the configured backend',
      ),
    );
  }
  return out;
}

/** Duplicate public IPs, overlapping subnets, and subnets outside the configured network. */
export function checkLeaseTable(v: DoctorView): Finding[] {
  const leases = v.facts.store.leases;
  if (!leases) return [];
  const out: Finding[] = [];
  const byIp = new Map<string, string[]>();
  for (const { lease } of leases) {
    for (const ip of [lease.attrs.publicIP, lease.attrs.publicIPv6]) {
      if (!ip) continue;
      const list = byIp.get(ip.toString()) ?? [];
      list.push(leaseName(lease));
      byIp.set(ip.toString(), list);
    }
  }
  for (const [ip, names] of byIp) {
    if (names.length < 2) continue;
    out.push(
      problem(
        'leases',
        `public IP ${ip} is held by ${names.length} leases: ${names.join('; ')}`,
        'every host routes each of those subnets to the same address: one of the hosts (a re-installed or cloned machine, or two hosts behind one NAT address) gets the other\'s traffic',
        'delete the stale lease (flannelctl leases gc, or etcdctl del <prefix>/subnets/<key>), or give each host its own -public-ip',
      ),
    );
  }
  const nets: { net: IPNetwork; name: string }[] = [];
  for (const { lease } of leases) for (const n of [lease.subnet, lease.ipv6Subnet]) if (n) nets.push({ net: n, name: leaseName(lease) });
  for (let i = 0; i < nets.length; i++) {
    for (let j = i + 1; j < nets.length; j++) {
      const a = nets[i]!;
      const b = nets[j]!;
      if (a.net.family !== b.net.family || !a.net.overlaps(b.net)) continue;
      out.push(
        problem(
          'leases',
          `subnets overlap: ${a.name} and ${b.name}`,
          'two hosts hand out pod addresses from the same range: the same pod IP can exist twice, and routes to it go to one of them',
          'remove the wrong lease (in kube mode: the node\'s spec.podCIDR, set by the controller-manager\'s --cluster-cidr / --node-cidr-mask-size) and restart flanneld on that host',
        ),
      );
    }
  }
  const c = v.config;
  if (c) {
    for (const { net, name } of nets) {
      const cluster = net.family === 4 ? c.network : c.ipv6Network;
      if (cluster && !cluster.covers(net)) {
        out.push(
          warning(
            'leases',
            `lease ${name} lies outside the network ${cluster.toString()}`,
            'flanneld ignores it: no host routes to it (in kube mode the podCIDR is outside net-conf.json\'s Network)',
            'make the network config cover it, or give that node a podCIDR inside the network',
          ),
        );
      }
    }
  }
  if (out.length === 0) out.push(ok('leases', `${leases.length} lease${leases.length === 1 ? '' : 's'}: no public IP held twice, no overlapping subnets`));
  return out;
}
