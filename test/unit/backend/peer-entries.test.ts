import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffEntries, fdbKey, isPeerRoute, neighborKey, routeKey, sieveOf, type PeerEntries } from '../../../src/backend/peer-entries.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { FdbEntry } from '../../../src/kernel/fdb.js';
import type { Neighbor } from '../../../src/kernel/neighbor.js';
import type { Route } from '../../../src/kernel/route.js';

const ip = IPAddress.parse;
const net = (s: string) => IPNetwork.parse(s);
const route = (dst: string, gw: string, extra: Partial<Route> = {}): Route => ({ dst: net(dst), gateway: ip(gw), linkIndex: 5, onlink: true, ...extra });
const neigh = (addr: string, mac: string, extra: Partial<Neighbor> = {}): Neighbor => ({ linkIndex: 5, ip: ip(addr), hardwareAddr: mac, ...extra });
const fdb = (mac: string, dst: string): FdbEntry => ({ linkIndex: 5, hardwareAddr: mac, dst: ip(dst) });
const entries = (e: Partial<PeerEntries>): PeerEntries => ({ routes: [], neighbors: [], fdb: [], ...e });
const text = (xs: readonly { dst?: IPNetwork | IPAddress; ip?: IPAddress; hardwareAddr?: string }[]) =>
  xs.map((x) => `${x.dst?.toString() ?? x.ip?.toString() ?? ''} ${x.hardwareAddr ?? ''}`.trim()).sort();

describe('diffEntries', () => {
  it('puts what is missing or different, deletes what is not wanted, leaves what is right', () => {
    const want = entries({
      routes: [route('10.0.1.0/24', '10.0.1.0'), route('10.0.2.0/24', '10.0.2.0'), route('10.0.3.0/24', '10.0.3.0')],
      neighbors: [neigh('10.0.1.0', '0a:00:00:00:00:01'), neigh('10.0.2.0', '0a:00:00:00:00:02')],
      fdb: [fdb('0a:00:00:00:00:01', '192.168.0.1'), fdb('0a:00:00:00:00:02', '192.168.0.2')],
    });
    const have = entries({
      routes: [route('10.0.1.0/24', '10.0.1.0'), route('10.0.2.0/24', '10.0.9.9'), route('10.0.4.0/24', '10.0.4.0')],
      neighbors: [neigh('10.0.1.0', '0A:00:00:00:00:01', { state: 0x80 }), neigh('10.0.2.0', '0a:00:00:00:00:02', { state: 0x02 }), neigh('10.0.4.0', '0a:00:00:00:00:04')],
      fdb: [fdb('0a:00:00:00:00:01', '192.168.0.1'), fdb('0a:00:00:00:00:04', '192.168.0.4')],
    });
    const d = diffEntries(want, have);
    assert.deepEqual(text(d.routes.put), ['10.0.2.0/24', '10.0.3.0/24']);
    assert.deepEqual(text(d.routes.del), ['10.0.4.0/24']);
    assert.deepEqual(text(d.neighbors.put), ['10.0.2.0 0a:00:00:00:00:02'], 'a neighbour not permanent is put again');
    assert.deepEqual(text(d.neighbors.del), ['10.0.4.0 0a:00:00:00:00:04']);
    assert.deepEqual(text(d.fdb.put), ['192.168.0.2 0a:00:00:00:00:02']);
    assert.deepEqual(text(d.fdb.del), ['192.168.0.4 0a:00:00:00:00:04']);
  });

  it('tells apart routes by table and family, neighbours by device, and matches IPv6 too', () => {
    const want = entries({
      routes: [route('10.0.1.0/24', '10.0.1.0'), route('10.0.1.0/24', '10.0.1.0', { table: 100 }), { dst: net('fc00:0:0:1::/64'), gateway: ip('fc00:0:0:1::'), linkIndex: 6, onlink: true }],
      neighbors: [neigh('10.0.1.0', '0a:00:00:00:00:01'), neigh('10.0.1.0', '0a:00:00:00:00:01', { linkIndex: 6 }), neigh('fc00:0:0:1::', '0a:00:00:00:00:01', { linkIndex: 6 })],
    });
    const have = entries({
      routes: [route('10.0.1.0/24', '10.0.1.0', { table: 100 }), { dst: net('fc00:0:0:1::/64'), gateway: ip('fc00:0:0:1::'), linkIndex: 6, onlink: true }],
      neighbors: [neigh('10.0.1.0', '0a:00:00:00:00:01', { linkIndex: 6 }), neigh('fc00:0:0:1::', '0a:00:00:00:00:01', { linkIndex: 6 })],
    });
    const d = diffEntries(want, have);
    assert.equal(d.routes.put.length, 1);
    assert.equal(d.routes.put[0]?.table, undefined);
    assert.deepEqual(d.routes.del, []);
    assert.deepEqual(d.neighbors.put.map((n) => n.linkIndex), [5]);
    assert.deepEqual(d.neighbors.del, []);
  });

  it('nothing installed: everything is put as it is; a key wanted twice is settled once', () => {
    const r = route('10.0.1.0/24', '10.0.1.0');
    assert.deepEqual(diffEntries(entries({ routes: [r, r] }), entries({})).routes, { put: [r, r], del: [] });
    assert.deepEqual(diffEntries(entries({ routes: [r, r] }), entries({ routes: [route('10.0.1.0/24', '10.0.1.0')] })).routes, { put: [], del: [] });
    const other = route('10.0.1.0/24', '10.0.7.7');
    assert.deepEqual(diffEntries(entries({ routes: [r, r] }), entries({ routes: [other] })).routes, { put: [r], del: [] });
  });

  it('a sieve settles entries as a dump reads them, also when the dump starts over', () => {
    const want = [route('10.0.1.0/24', '10.0.1.0'), route('10.0.2.0/24', '10.0.2.0'), route('10.0.3.0/24', '10.0.3.0')];
    const installed = [route('10.0.1.0/24', '10.0.1.0'), route('10.0.2.0/24', '10.0.9.9'), route('10.0.4.0/24', '10.0.4.0')];
    const sieve = sieveOf('routes', entries({ routes: want }));
    // A dump that honours keep, read twice (the kernel interrupted the first pass).
    let kept: Route[] = [];
    for (let pass = 0; pass < 2; pass++) kept = installed.filter(sieve.keep);
    assert.deepEqual(text(kept), ['10.0.4.0/24']);
    const d = sieve.finish(kept);
    assert.deepEqual(text(d.put), ['10.0.2.0/24', '10.0.3.0/24']);
    assert.deepEqual(text(d.del), ['10.0.4.0/24']);
    // A dump that never calls keep gives the same diff.
    const ignoring = sieveOf('routes', entries({ routes: want })).finish(installed);
    assert.deepEqual([text(ignoring.put), text(ignoring.del)], [text(d.put), text(d.del)]);
  });

  it('keys: numbers for IPv4 main-table routes and IPv4 neighbours, strings otherwise, never equal across', () => {
    const keys = [
      routeKey(route('10.0.1.0/24', '10.0.1.0')),
      routeKey(route('10.0.1.0/25', '10.0.1.0')),
      routeKey(route('10.0.1.0/24', '10.0.1.0', { table: 100 })),
      routeKey({ dst: net('fc00::/64') }),
      neighborKey(neigh('10.0.1.0', 'x')),
      neighborKey(neigh('10.0.1.0', 'x', { linkIndex: 6 })),
      neighborKey(neigh('fc00::', 'x')),
      fdbKey(fdb('0a:00:00:00:00:01', '192.168.0.1')),
    ];
    assert.deepEqual(keys.map((k) => typeof k), ['number', 'number', 'string', 'string', 'number', 'number', 'string', 'string']);
    assert.equal(new Set(keys.slice(0, 4)).size, 4);
    assert.equal(new Set(keys.slice(4, 7)).size, 3);
  });
});

describe('isPeerRoute', () => {
  const clusterNets = [net('10.5.0.0/16'), net('fc00:5::/48')];
  const own = { subnet: net('10.5.77.0/24'), ipv6Subnet: net('fc00:5:0:4d::/64') };
  const ours = isPeerRoute(clusterNets, own);
  const onDevice = (dst: string, extra: Partial<Route> = {}): Route => ({ dst: net(dst), linkIndex: 5, ...extra });

  it('takes a route into a cluster network other than the own subnet, as installed or read back with proto boot', () => {
    assert.equal(ours(onDevice('10.5.3.0/24')), true);
    assert.equal(ours(onDevice('fc00:5:0:3::/64', { protocol: 3 })), true);
    assert.equal(ours(route('10.5.4.0/24', '10.5.4.0', { protocol: 3 })), true);
  });

  it('leaves the own subnets and routes outside the cluster networks', () => {
    assert.equal(ours(onDevice('10.5.77.0/24')), false);
    assert.equal(ours(onDevice('fc00:5:0:4d::/64')), false);
    assert.equal(ours(onDevice('192.168.0.0/24')), false);
  });

  it('leaves a route the kernel added itself (proto kernel), such as the /128 of the address on flannel-v6.1', () => {
    assert.equal(ours(onDevice('fc00:5:0:4d::/128', { protocol: 2, priority: 256 })), false);
    assert.equal(ours(onDevice('10.5.3.0/24', { protocol: 2 })), false);
  });
});
