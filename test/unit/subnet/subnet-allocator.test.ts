import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetworkConfig, type NetworkConfig } from '../../../src/config/network-config.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { Lease } from '../../../src/lease/lease.js';
import {
  FREE_CANDIDATES,
  TakenSubnets,
  freeSubnets,
  leaseFitsConfig,
  pickFreeSubnets,
  preferredIsFree,
} from '../../../src/subnet/subnet-allocator.js';

const net = (s: string) => IPNetwork.parse(s);
const ip = (s: string) => IPAddress.parse(s);
const cfg = (doc: Record<string, unknown>): NetworkConfig => parseNetworkConfig(JSON.stringify(doc));
const V4 = cfg({ Network: '10.244.0.0/16' });
const DUAL = cfg({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48' });
const V6 = cfg({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48' });

function lease(subnet?: string, ipv6Subnet?: string): Lease {
  return {
    subnet: subnet ? net(subnet) : undefined,
    ipv6Subnet: ipv6Subnet ? net(ipv6Subnet) : undefined,
    attrs: { publicIP: undefined, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
    expiration: undefined,
  };
}
const str = (nets: IPNetwork[]) => nets.map((n) => n.toString());
/** A deterministic random() walking through [0, 1). */
function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

describe('freeSubnets', () => {
  it('scans in order from SubnetMin, skipping taken exact subnets', () => {
    const taken = new TakenSubnets(24, [net('10.244.1.0/24'), net('10.244.3.0/24'), undefined]);
    assert.deepEqual(str(freeSubnets(ip('10.244.1.0'), ip('10.244.6.0'), 24, taken)), [
      '10.244.2.0/24',
      '10.244.4.0/24',
      '10.244.5.0/24',
      '10.244.6.0/24',
    ]);
  });

  it('odd-length entries block every subnet they overlap', () => {
    const taken = new TakenSubnets(24, [net('10.244.4.0/22'), net('10.244.9.128/25'), net('10.0.0.0/8').next()]);
    assert.deepEqual(str(freeSubnets(ip('10.244.1.0'), ip('10.244.10.0'), 24, taken)), [
      '10.244.1.0/24',
      '10.244.2.0/24',
      '10.244.3.0/24',
      '10.244.8.0/24',
      '10.244.10.0/24',
    ]);
    const wide = new TakenSubnets(24, [net('10.244.0.0/16')]);
    assert.deepEqual(freeSubnets(ip('10.244.1.0'), ip('10.244.255.0'), 24, wide), []);
  });

  it('stops at the limit and at SubnetMax (inclusive)', () => {
    const none = new TakenSubnets(24, []);
    assert.equal(freeSubnets(ip('10.244.1.0'), ip('10.244.255.0'), 24, none).length, FREE_CANDIDATES);
    assert.equal(FREE_CANDIDATES, 100);
    assert.deepEqual(str(freeSubnets(ip('10.244.1.0'), ip('10.244.255.0'), 24, none, 3)), ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
    assert.deepEqual(str(freeSubnets(ip('10.244.7.0'), ip('10.244.7.0'), 24, none)), ['10.244.7.0/24']);
  });

  it('works at the top of the address space without overflowing', () => {
    const none = new TakenSubnets(24, []);
    assert.deepEqual(str(freeSubnets(ip('255.255.254.0'), ip('255.255.255.0'), 24, none)), ['255.255.254.0/24', '255.255.255.0/24']);
  });

  it('is exhausted when every subnet is taken, and fast with thousands taken', () => {
    const all: IPNetwork[] = [];
    for (let i = 1; i < 256; i++) all.push(net(`10.244.${i}.0/24`));
    assert.deepEqual(freeSubnets(ip('10.244.1.0'), ip('10.244.255.0'), 24, new TakenSubnets(24, all)), []);
    const many: IPNetwork[] = [];
    for (let i = 0; i < 60_000; i++) many.push(IPNetwork.of(IPAddress.of(4, (10n << 24n) + BigInt(i) * 256n), 24));
    const t0 = Date.now();
    const free = freeSubnets(ip('10.0.0.0'), ip('10.255.255.0'), 24, new TakenSubnets(24, many));
    assert.equal(free[0]?.toString(), '10.234.96.0/24');
    assert.equal(free.length, 100);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('hasAt answers as has() without building the prefix; another family never overlaps', () => {
    const taken = new TakenSubnets(24, [net('10.244.1.0/24'), net('10.244.4.0/22'), net('fc00::/16')]);
    for (const s of ['10.244.1.0/24', '10.244.2.0/24', '10.244.5.0/24', '10.244.0.0/16', '10.244.4.128/25', '10.244.8.0/24']) {
      const n = net(s);
      assert.equal(taken.hasAt(n.family, n.ip.value, n.prefixLength), taken.has(n), s);
    }
    assert.ok(taken.has(net('10.244.0.0/16')), 'a wider prefix overlaps an odd entry inside it');
    assert.ok(!taken.has(net('1.0.0.0/24')));
    assert.ok(taken.hasAt(6, net('fc00:0:0:1::/64').ip.value, 64));
    assert.ok(!taken.hasAt(4, 0xfc000000n, 24), 'fc00::/16 does not block 252.0.0.0/24');
  });

  it('IPv6', () => {
    const taken = new TakenSubnets(64, [net('fc00:0:0:1::/64'), net('fc00:0:0:4::/63')]);
    assert.deepEqual(str(freeSubnets(ip('fc00:0:0:1::'), ip('fc00:0:0:7::'), 64, taken)), [
      'fc00:0:0:2::/64',
      'fc00:0:0:3::/64',
      'fc00:0:0:6::/64',
      'fc00:0:0:7::/64',
    ]);
  });
});

describe('pickFreeSubnets', () => {
  it('picks among the first 100 free subnets within [SubnetMin, SubnetMax]', () => {
    const taken = [lease('10.244.1.0/24'), lease('10.244.2.0/24')];
    assert.equal(pickFreeSubnets(V4, taken, () => 0).subnet?.toString(), '10.244.3.0/24');
    assert.equal(pickFreeSubnets(V4, taken, () => 0.999999).subnet?.toString(), '10.244.102.0/24');
    const r = seq([0.1, 0.5, 0.73, 0.31, 0.9]);
    for (let i = 0; i < 200; i++) {
      const sn = pickFreeSubnets(V4, taken, Math.random).subnet;
      const fixed = pickFreeSubnets(V4, taken, r).subnet;
      for (const s of [sn, fixed]) {
        assert.ok(s && V4.subnetMin && V4.subnetMax);
        assert.ok(s.ip.compare(V4.subnetMin) >= 0 && s.ip.compare(V4.subnetMax) <= 0);
        assert.ok(s.ip.compare(ip('10.244.102.0')) <= 0, `${s.toString()} is among the first 100 free`);
        assert.ok(!taken.some((l) => l.subnet?.equals(s)));
        assert.equal(s.prefixLength, 24);
      }
    }
  });

  it('never hands out the network\'s first subnet and honours explicit ranges', () => {
    const c = cfg({ Network: '10.244.0.0/16', SubnetMin: '10.244.200.0', SubnetMax: '10.244.201.0' });
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(pickFreeSubnets(c, []).subnet?.toString() ?? '');
    for (const s of seen) assert.ok(['10.244.200.0/24', '10.244.201.0/24'].includes(s), s);
    assert.equal(pickFreeSubnets(V4, [], () => 0).subnet?.toString(), '10.244.1.0/24');
  });

  it('reports exhaustion per family', () => {
    const small = cfg({ Network: '10.0.0.0/28' });
    const all = ['10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/30'].map((s) => lease(s));
    assert.deepEqual(pickFreeSubnets(small, all), { exhausted: 4 });
    assert.equal(pickFreeSubnets(small, all.slice(1)).subnet?.toString(), '10.0.0.4/30');
    const v6small = cfg({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/124' });
    const all6 = ['fc00::4/126', 'fc00::8/126', 'fc00::c/126'].map((s) => lease(undefined, s));
    assert.deepEqual(pickFreeSubnets(v6small, all6), { exhausted: 6 });
  });

  it('dual stack picks one of each; IPv6 only picks no IPv4 subnet', () => {
    const d = pickFreeSubnets(DUAL, [lease('10.244.1.0/24', 'fc00:0:0:1::/64')], () => 0);
    assert.equal(d.subnet?.toString(), '10.244.2.0/24');
    assert.equal(d.ipv6Subnet?.toString(), 'fc00:0:0:2::/64');
    const o = pickFreeSubnets(V6, [lease(undefined, 'fc00:0:0:1::/64')], () => 0.5);
    assert.equal(o.subnet, undefined);
    assert.equal(o.ipv6Subnet?.toString(), 'fc00:0:0:34::/64');
  });
});

describe('leaseFitsConfig (flannel isSubnetConfigCompat)', () => {
  it('IPv4: inside the network, of SubnetLen, within [SubnetMin, SubnetMax]', () => {
    assert.ok(leaseFitsConfig(V4, { subnet: net('10.244.5.0/24') }));
    assert.ok(!leaseFitsConfig(V4, { subnet: net('10.245.5.0/24') }), 'outside the network');
    assert.ok(!leaseFitsConfig(V4, { subnet: net('10.244.4.0/23') }), 'wrong length');
    assert.ok(!leaseFitsConfig(V4, { subnet: net('10.244.5.0/25') }), 'wrong length');
    assert.ok(!leaseFitsConfig(V4, { subnet: net('10.244.0.0/24') }), 'below SubnetMin: the first subnet');
    const narrow = cfg({ Network: '10.244.0.0/16', SubnetMax: '10.244.9.0' });
    assert.ok(!leaseFitsConfig(narrow, { subnet: net('10.244.10.0/24') }), 'above SubnetMax');
    assert.ok(leaseFitsConfig(narrow, { subnet: net('10.244.9.0/24') }));
    assert.ok(!leaseFitsConfig(V4, {}), 'no subnet');
    assert.ok(!leaseFitsConfig(V4, { subnet: net('10.244.5.0/24'), ipv6Subnet: net('fc00:0:0:5::/64') }), 'IPv6 not enabled');
  });

  it('without ranges (kube manager) only the network is checked', () => {
    const kube = parseNetworkConfig('{"Network":"10.244.0.0/16"}', { checkSubnetRanges: false });
    assert.ok(leaseFitsConfig(kube, { subnet: net('10.244.0.0/24') }));
    assert.ok(leaseFitsConfig(kube, { subnet: net('10.244.0.0/26') }));
    assert.ok(!leaseFitsConfig(kube, { subnet: net('10.1.0.0/24') }));
  });

  it('dual stack and IPv6 only', () => {
    assert.ok(leaseFitsConfig(DUAL, { subnet: net('10.244.5.0/24'), ipv6Subnet: net('fc00:0:0:5::/64') }));
    assert.ok(!leaseFitsConfig(DUAL, { subnet: net('10.244.5.0/24') }), 'IPv6 subnet missing');
    assert.ok(!leaseFitsConfig(DUAL, { subnet: net('10.244.5.0/24'), ipv6Subnet: net('fc00::/64') }), 'first IPv6 subnet');
    assert.ok(!leaseFitsConfig(DUAL, { subnet: net('10.244.5.0/24'), ipv6Subnet: net('fc00:0:0:5::/65') }));
    assert.ok(leaseFitsConfig(V6, { ipv6Subnet: net('fc00:0:0:5::/64') }));
    assert.ok(!leaseFitsConfig(V6, { subnet: net('10.244.5.0/24'), ipv6Subnet: net('fc00:0:0:5::/64') }), 'IPv4 not enabled');
    assert.ok(!leaseFitsConfig(V6, { ipv6Subnet: net('fd00:0:0:5::/64') }));
  });
});

describe('preferredIsFree', () => {
  const leases = [lease('10.244.7.0/24'), lease('10.244.8.0/22')];
  it('accepts a free subnet of the right shape', () => {
    assert.ok(preferredIsFree(V4, { subnet: net('10.244.6.0/24') }, leases));
  });
  it('refuses a taken one, exact or overlapped', () => {
    assert.ok(!preferredIsFree(V4, { subnet: net('10.244.7.0/24') }, leases));
    assert.ok(!preferredIsFree(V4, { subnet: net('10.244.9.0/24') }, leases));
  });
  it('refuses wrong length, outside the network, and outside [SubnetMin, SubnetMax]', () => {
    assert.ok(!preferredIsFree(V4, { subnet: net('10.244.6.0/25') }, []));
    assert.ok(!preferredIsFree(V4, { subnet: net('10.99.6.0/24') }, []));
    assert.ok(!preferredIsFree(V4, { subnet: net('10.244.0.0/24') }, []), 'flannel never hands out the first subnet');
  });
  it('dual stack needs both free; IPv6 only', () => {
    const l = [lease('10.244.1.0/24', 'fc00:0:0:1::/64')];
    assert.ok(preferredIsFree(DUAL, { subnet: net('10.244.2.0/24'), ipv6Subnet: net('fc00:0:0:2::/64') }, l));
    assert.ok(!preferredIsFree(DUAL, { subnet: net('10.244.2.0/24'), ipv6Subnet: net('fc00:0:0:1::/64') }, l));
    assert.ok(!preferredIsFree(DUAL, { subnet: net('10.244.2.0/24') }, l));
    assert.ok(preferredIsFree(V6, { ipv6Subnet: net('fc00:0:0:2::/64') }, l));
    assert.ok(!preferredIsFree(V6, { ipv6Subnet: net('fc00:0:0:1::/64') }, l));
  });
});
