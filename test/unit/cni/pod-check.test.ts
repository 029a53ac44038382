import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCniResult } from '../../../src/cni/cni-result.js';
import { podProblems } from '../../../src/cni/pod-check.js';
import { CniError } from '../../../src/errors.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { NetnsSnapshot } from '../../../src/kernel/netns-snapshot.js';

/** What Debian's bridge 1.1.1 returns for a flannel pod (dual stack). */
const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: '5e:15:7d:0f:c9:64' },
    { name: 'veth8bd4ed7c', mac: '4a:ce:f8:b0:a2:df' },
    { name: 'eth0', mac: 'EE:F2:9C:77:9B:B3', sandbox: '/run/netns/pod' },
  ],
  ips: [
    { interface: 2, address: '10.244.7.2/24', gateway: '10.244.7.1' },
    { interface: 2, address: 'fc00:5:0:7::2/64', gateway: 'fc00:5:0:7::1' },
  ],
  routes: [{ dst: '10.244.0.0/16' }, { dst: 'fc00:5::/48' }],
  dns: {},
};

/** The pod's namespace as the bridge leaves it: routes through the gateway. */
function healthy(): NetnsSnapshot {
  return {
    links: [
      { index: 1, name: 'lo', up: false, mtu: 65536 },
      { index: 2, name: 'eth0', up: true, mtu: 1450, hardwareAddr: 'ee:f2:9c:77:9b:b3', kind: 'veth' },
    ],
    addresses: [
      { linkIndex: 2, ip: '10.244.7.2', prefixLength: 24 },
      { linkIndex: 2, ip: 'fc00:5:0:7::2', prefixLength: 64 },
      { linkIndex: 2, ip: 'fe80::ecf2:9cff:fe77:9bb3', prefixLength: 64 },
    ],
    routes: [
      { dst: '10.244.0.0/16', gateway: '10.244.7.1', linkIndex: 2, table: 254 },
      { dst: '10.244.7.0/24', linkIndex: 2, table: 254 },
      { dst: 'fc00:5::/48', gateway: 'fc00:5:0:7::1', linkIndex: 2, table: 254 },
      { dst: 'fc00:5:0:7::/64', linkIndex: 2, table: 254 },
      { dst: '10.244.7.2/32', linkIndex: 2, table: 255 },
    ],
  };
}

const want = (extra: { subnets?: IPNetwork[] } = {}) => ({ result: parseCniResult(RESULT), ifName: 'eth0', netns: '/run/netns/pod', ...extra });

describe('podProblems', () => {
  it('finds nothing wrong with a healthy pod (gateway-less result routes match routes via the gateway)', () => {
    assert.deepEqual(podProblems(want(), healthy()), []);
  });

  it('reports a missing interface', () => {
    const s = healthy();
    assert.deepEqual(podProblems(want(), { ...s, links: s.links.filter((l) => l.name !== 'eth0') }), ['interface eth0 is missing from /run/netns/pod']);
  });

  it('reports a missing address and its missing route', () => {
    const s = healthy();
    const snap = { ...s, addresses: s.addresses.filter((a) => a.ip !== '10.244.7.2'), routes: s.routes.filter((r) => r.dst !== '10.244.0.0/16') };
    assert.deepEqual(podProblems(want(), snap), ['address 10.244.7.2/24 is missing from eth0', 'route 10.244.0.0/16 is missing']);
  });

  it('reports an address with another prefix length, a down link and a changed MAC', () => {
    const s = healthy();
    const snap: NetnsSnapshot = {
      ...s,
      links: s.links.map((l) => (l.name === 'eth0' ? { ...l, up: false, hardwareAddr: '02:00:00:00:00:01' } : l)),
      addresses: s.addresses.map((a) => (a.ip === '10.244.7.2' ? { ...a, prefixLength: 16 } : a)),
    };
    const p = podProblems(want(), snap);
    assert.equal(p.length, 3, p.join('\n'));
    assert.match(p[0] ?? '', /down/);
    assert.match(p[1] ?? '', /MAC 02:00:00:00:00:01/);
    assert.match(p[2] ?? '', /10.244.7.2\/24 is missing/);
  });

  it('a route with a gateway must go through that gateway', () => {
    const result = parseCniResult({ ...RESULT, routes: [{ dst: '0.0.0.0/0', gw: '10.244.7.1' }] });
    const s = healthy();
    assert.deepEqual(podProblems({ ...want(), result }, s), ['route 0.0.0.0/0 via 10.244.7.1 is missing']);
    const withDefault = { ...s, routes: [...s.routes, { dst: '0.0.0.0/0', gateway: '10.244.7.1', linkIndex: 2, table: 254 }] };
    assert.deepEqual(podProblems({ ...want(), result }, withDefault), []);
  });

  it("reports addresses outside the node's current subnet", () => {
    const p = podProblems(want({ subnets: [IPNetwork.parse('10.244.9.0/24'), IPNetwork.parse('fc00:5:0:7::/64')] }), healthy());
    assert.deepEqual(p, ['address 10.244.7.2/24 is outside this node\'s subnet 10.244.9.0/24 (flanneld\'s lease changed?)']);
  });

  it('ignores host-side interfaces and their addresses', () => {
    const result = parseCniResult({ ...RESULT, ips: [...RESULT.ips, { interface: 0, address: '10.244.7.1/24' }] });
    assert.deepEqual(podProblems({ ...want(), result }, healthy()), []);
  });
});

describe('parseCniResult', () => {
  it('parses 0.4.0 results (with "version") and IPAM results without interfaces', () => {
    const r = parseCniResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.2.3/24', gateway: '10.1.2.1' }] });
    assert.equal(r.ips[0]?.ip.toString(), '10.1.2.3');
    assert.equal(r.ips[0]?.prefixLength, 24);
    assert.equal(r.ips[0]?.interfaceIndex, undefined);
  });

  it('refuses malformed results with a decoding failure (6)', () => {
    for (const bad of [{ ips: 'x' }, { ips: [{ address: '10.1.2.3' }] }, { ips: [{ address: '10.1.2.3/24', interface: 4 }] }, { routes: [{ dst: 'x' }] }, { interfaces: [{}] }]) {
      assert.throws(() => parseCniResult(bad), (e: unknown) => e instanceof CniError && e.cniCode === 6, JSON.stringify(bad));
    }
  });
});
