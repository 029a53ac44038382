/** The scale benchmarks' pure helpers: procfs counting, ip -ts monitor lines, made-up leases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countPermanentNeighbors, countRoutes } from '../../../bench/support/kernel-count.js';
import { peerLease, peerLeases } from '../../../bench/support/peer-leases.js';
import { parseRouteEvent } from '../../../bench/support/route-monitor.js';

const ROUTE_HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
const pad = (s: string) => s.padEnd(127);

describe('bench scale support', () => {
  it('counts gateway routes of one device in /proc/net/route, not the default route or connected ones', () => {
    const text = [
      ROUTE_HEADER,
      pad('h1\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0'),
      pad('h1\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0'),
      pad('h1\t0001000A\t0164A8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0'),
      pad('flannel.1\t0002000A\t0002000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0'),
      pad('flannel.1\t0003000A\t0003000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0'),
      '',
    ].join('\n');
    assert.equal(countRoutes(text, 'flannel.1'), 2);
    assert.equal(countRoutes(text, 'h1'), 1);
    assert.equal(countRoutes(text, 'flannel'), 0);
  });

  it('counts permanent neighbours of one device in /proc/net/arp', () => {
    const text = [
      'IP address       HW type     Flags       HW address            Mask     Device',
      '10.3.46.0        0x1         0x6         0a:fe:00:00:03:2e     *        flannel.1',
      '10.3.47.0        0x1         0x2         0a:fe:00:00:03:2f     *        flannel.1',
      '192.168.77.1     0x1         0x2         aa:bb:cc:dd:ee:ff     *        h1',
      '',
    ].join('\n');
    assert.equal(countPermanentNeighbors(text, 'flannel.1'), 1);
    assert.equal(countPermanentNeighbors(text, 'h1'), 0);
  });

  it('reads the time, kind and destination of ip -ts monitor route lines', () => {
    const add = parseRouteEvent('[2026-11-26T14:07:55.900994] 10.244.5.0/24 via 10.244.5.0 dev flannel.1 onlink ');
    assert.ok(add);
    assert.equal(add.deleted, false);
    assert.equal(add.dst, '10.244.5.0/24');
    assert.equal(add.time, new Date(2026, 10, 26, 14, 7, 55).getTime() + 900.994);
    const del = parseRouteEvent('[2026-11-26T14:07:56.000001] Deleted 10.244.5.0/24 via 10.244.5.0 dev flannel.1 onlink ');
    assert.equal(del?.deleted, true);
    assert.equal(del?.dst, '10.244.5.0/24');
    assert.equal(parseRouteEvent('Timestamp: Thu Nov 26 14:07:55 2026 900994 usec'), undefined);
  });

  it("makes distinct leases in Go flannel's format, public IPs outside the hosts' 192.168.77.0/24", () => {
    assert.deepEqual(peerLease(258, 'vxlan'), {
      key: '/coreos.com/network/subnets/10.1.2.0-24',
      value: '{"PublicIP":"192.168.101.2","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:fe:00:00:01:02"}}',
    });
    assert.equal(peerLease(1, 'host-gw').value, '{"PublicIP":"192.168.100.1","PublicIPv6":null,"BackendType":"host-gw"}');
    const all = peerLeases(5000, 'vxlan');
    assert.equal(new Set(all.map((e) => e.key)).size, 5000);
    assert.equal(new Set(all.map((e) => (JSON.parse(e.value) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC)).size, 5000);
    assert.throws(() => peerLeases(0, 'vxlan'), RangeError);
  });
});
