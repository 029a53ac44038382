import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vtepMac } from '../../../src/backend/vxlan/vxlan-backend.js';
import { parsePeerLeaseData } from '../../../src/backend/wireguard/wireguard-lease-data.js';
import { LeaseRefusedError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { LeaseGuard } from '../../../src/lease/lease-guard.js';
import type { Lease, LeaseEvent } from '../../../src/lease/lease.js';

function lease(subnet: string | undefined, publicIP: string | undefined, v6?: { subnet: string; ip?: string }): Lease {
  return {
    subnet: subnet ? IPNetwork.parse(subnet) : undefined,
    ipv6Subnet: v6 ? IPNetwork.parse(v6.subnet) : undefined,
    attrs: {
      publicIP: publicIP ? IPAddress.parse(publicIP) : undefined,
      publicIPv6: v6?.ip ? IPAddress.parse(v6.ip) : undefined,
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:01' },
      backendV6Data: undefined,
    },
    expiration: undefined,
  };
}
const added = (l: Lease): LeaseEvent => ({ type: 'added', lease: l });
const removed = (l: Lease): LeaseEvent => ({ type: 'removed', lease: l });
const names = (evs: LeaseEvent[]) => evs.map((e) => `${e.type} ${[e.lease.subnet, e.lease.ipv6Subnet].filter(Boolean).join('+')} ${e.lease.attrs.publicIP?.toString() ?? ''}`.trim());

const own = lease('10.244.1.0/24', '192.168.0.1', { subnet: 'fc00:0:0:1::/64', ip: 'fd00::1' });

function guard(opts: { v6?: boolean } = {}) {
  const warnings: string[] = [];
  const g = new LeaseGuard({
    network: IPNetwork.parse('10.244.0.0/16'),
    ipv6Network: opts.v6 ? IPNetwork.parse('fc00::/48') : undefined,
    own,
    ownAddresses: [IPAddress.parse('192.168.0.100')],
    logger: { warn: (m) => warnings.push(m), info: () => {} },
  });
  return { g, warnings };
}

describe('LeaseGuard: remote leases that would hijack traffic are refused', () => {
  it('lets good leases through unchanged', () => {
    const { g, warnings } = guard();
    const evs = [added(lease('10.244.2.0/24', '192.168.0.2')), added(lease('10.244.3.0/24', '192.168.0.3'))];
    assert.deepEqual(g.filter(evs), evs);
    assert.equal(g.size, 2);
    assert.deepEqual(warnings, []);
  });

  const refusals: Array<[string, Lease, RegExp]> = [
    ['a subnet outside the network', lease('10.245.2.0/24', '192.168.0.2'), /10\.245\.2\.0\/24 is outside the network 10\.244\.0\.0\/16/],
    ['the default route', lease('0.0.0.0/0', '192.168.0.2'), /0\.0\.0\.0\/0 is outside the network/],
    ['the whole network', lease('10.244.0.0/16', '192.168.0.2'), /overlaps this host's subnet 10\.244\.1\.0\/24/],
    ['a subnet covering this host', lease('10.244.0.0/23', '192.168.0.2'), /overlaps this host's subnet/],
    ['a subnet inside this host', lease('10.244.1.128/25', '192.168.0.2'), /overlaps this host's subnet/],
    ["this host's public IP", lease('10.244.2.0/24', '192.168.0.1'), /public IP 192\.168\.0\.1 is this host's own/],
    ["this host's interface address", lease('10.244.2.0/24', '192.168.0.100'), /is this host's own/],
    ['a multicast public IP', lease('10.244.2.0/24', '224.0.0.1'), /not a unicast host address/],
    ['a loopback public IP', lease('10.244.2.0/24', '127.0.0.1'), /not a unicast host address/],
    ['the broadcast public IP', lease('10.244.2.0/24', '255.255.255.255'), /not a unicast host address/],
    ['no subnet of an enabled family', lease(undefined, '192.168.0.2', { subnet: 'fc00:0:0:2::/64' }), /no subnet of a family this network carries/],
  ];
  for (const [what, l, reason] of refusals) {
    it(`refuses ${what}, naming the lease, and warns once`, () => {
      const { g, warnings } = guard();
      assert.deepEqual(g.filter([added(l)]), []);
      assert.equal(g.size, 0);
      const err = g.refusalOf(l);
      assert.ok(err instanceof LeaseRefusedError);
      assert.match(err.message, reason);
      assert.ok(err.lease.startsWith([l.subnet, l.ipv6Subnet].filter(Boolean).join(' + ')), err.lease);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, reason);
      // The same lease again (a re-list, a resync): no second warning, still nothing through.
      assert.deepEqual(g.filter([added(l)]), []);
      assert.equal(warnings.length, 1);
      // Its removal passes nothing on either.
      assert.deepEqual(g.filter([removed(l)]), []);
      assert.equal(g.refusedCount, 0);
    });
  }

  it('IPv6: outside the IPv6 network, or overlapping this host, is refused; the v6 part of a peer in a v4 network is left alone', () => {
    const { g } = guard({ v6: true });
    assert.deepEqual(names(g.filter([added(lease('10.244.2.0/24', '192.168.0.2', { subnet: 'fc01::/64', ip: 'fd00::2' }))])), []);
    assert.deepEqual(names(g.filter([added(lease('10.244.3.0/24', '192.168.0.3', { subnet: 'fc00:0:0:1::/80', ip: 'fd00::3' }))])), []);
    assert.deepEqual(names(g.filter([added(lease('10.244.4.0/24', '192.168.0.4', { subnet: 'fc00:0:0:4::/64', ip: 'fd00::1' }))])), []);
    assert.equal(g.refusedCount, 3);
    assert.deepEqual(names(g.filter([added(lease('10.244.5.0/24', '192.168.0.5', { subnet: 'fc00:0:0:5::/64', ip: 'fd00::5' }))])), ['added 10.244.5.0/24+fc00:0:0:5::/64 192.168.0.5']);
    const v4only = guard().g;
    assert.equal(v4only.filter([added(lease('10.244.6.0/24', '192.168.0.6', { subnet: 'fc02::/64' }))]).length, 1);
  });

  it('overlapping another lease: the first one keeps it; the other gets in once the first is gone', () => {
    const { g, warnings } = guard();
    const first = lease('10.244.4.0/24', '192.168.0.4');
    const wide = lease('10.244.4.0/22', '192.168.0.66');
    const inner = lease('10.244.5.128/25', '192.168.0.67');
    assert.deepEqual(names(g.filter([added(first), added(wide)])), ['added 10.244.4.0/24 192.168.0.4']);
    assert.match(warnings[0]!, /refusing lease 10\.244\.4\.0\/22 \(public IP 192\.168\.0\.66\): its subnet 10\.244\.4\.0\/22 overlaps the lease 10\.244\.4\.0\/24 \(public IP 192\.168\.0\.4\)/);
    // Not blocked by the wide one (refused leases hold nothing).
    assert.deepEqual(names(g.filter([added(inner)])), ['added 10.244.5.128/25 192.168.0.67']);
    // The first goes: the wide one still overlaps the inner one, so stays out.
    assert.deepEqual(names(g.filter([removed(first)])), ['removed 10.244.4.0/24 192.168.0.4']);
    assert.equal(g.refusedCount, 1);
    assert.deepEqual(names(g.filter([removed(inner)])), ['removed 10.244.5.128/25 192.168.0.67', 'added 10.244.4.0/22 192.168.0.66']);
    assert.equal(g.refusedCount, 0);
  });

  it('a wide lease accepted first keeps out the subnets inside it (many candidates scanned or looked up)', () => {
    const { g } = guard();
    const many = Array.from({ length: 300 }, (_, i) => lease(`10.244.${100 + Math.floor(i / 4)}.${(i % 4) * 64}/26`, `192.168.1.${i % 250 + 1}`));
    assert.equal(g.filter(many.map(added)).length, 300);
    assert.equal(g.filter([added(lease('10.244.96.0/20', '192.168.2.1'))]).length, 0);
    assert.equal(g.filter([added(lease('10.244.200.0/21', '192.168.2.2'))]).length, 1);
    assert.equal(g.filter([added(lease('10.244.200.0/24', '192.168.2.3'))]).length, 0);
  });

  it('an accepted lease that turns bad is removed; one that turns good is added', () => {
    const { g } = guard();
    const good = lease('10.244.7.0/24', '192.168.0.7');
    const bad = lease('10.244.7.0/24', '192.168.0.1');
    assert.equal(g.filter([added(good)]).length, 1);
    assert.deepEqual(names(g.filter([added(bad)])), ['removed 10.244.7.0/24 192.168.0.7']);
    assert.equal(g.size, 0);
    assert.deepEqual(names(g.filter([added(good)])), ['added 10.244.7.0/24 192.168.0.7']);
  });
});

describe('backend checks of peer data (entriesFor skip)', () => {
  it('vxlan VtepMAC: all zeros, multicast and broadcast are refused, naming the MAC', () => {
    assert.equal(vtepMac({ VtepMAC: '5A:9B:6C:CC:33:80' }), '5a:9b:6c:cc:33:80');
    for (const [mac, why] of [
      ['00:00:00:00:00:00', /all zeros/],
      ['ff:ff:ff:ff:ff:ff', /broadcast/],
      ['01:00:5e:00:00:01', /multicast/],
      ['33:33:00:00:00:01', /multicast/],
      ['zz', /not a MAC address/],
      [7, /not a string/],
    ] as const) {
      const r = vtepMac({ VtepMAC: mac });
      assert.ok(typeof r !== 'string', String(mac));
      assert.match(r.problem, why);
    }
    assert.deepEqual(vtepMac(null), { problem: 'no VtepMAC' });
  });

  it('wireguard PublicKey of all zeros is refused', () => {
    const r = parsePeerLeaseData({ PublicKey: Buffer.alloc(32).toString('base64'), Port: 51820 }, 'BackendData');
    assert.equal(typeof r, 'string');
    assert.match(r as string, /BackendData\.PublicKey .* is all zeros/);
  });
});
