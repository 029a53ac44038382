import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { LeaseWatcher, sameAttrs } from '../../../src/lease/lease-watcher.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../../../src/lease/lease.js';

function lease(subnet: string | undefined, publicIP: string, extra: Partial<LeaseAttrs> & { v6?: string } = {}): Lease {
  const { v6, ...a } = extra;
  return {
    subnet: subnet ? IPNetwork.parse(subnet) : undefined,
    ipv6Subnet: v6 ? IPNetwork.parse(v6) : undefined,
    attrs: {
      publicIP: IPAddress.parse(publicIP),
      publicIPv6: undefined,
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:01' },
      backendV6Data: undefined,
      ...a,
    },
    expiration: undefined,
  };
}
const added = (l: Lease): LeaseEvent => ({ type: 'added', lease: l });
const removed = (l: Lease): LeaseEvent => ({ type: 'removed', lease: l });
const summary = (evs: LeaseEvent[]) => evs.map((e) => `${e.type} ${e.lease.subnet?.toString() ?? ''}${e.lease.ipv6Subnet ? `&${e.lease.ipv6Subnet.toString()}` : ''}`);

const own = lease('10.244.1.0/24', '192.168.0.1');
const a = lease('10.244.2.0/24', '192.168.0.2');
const b = lease('10.244.3.0/24', '192.168.0.3');

describe('LeaseWatcher.update', () => {
  it('filters out the own lease, in adds and removals', () => {
    const w = new LeaseWatcher(own);
    assert.deepEqual(w.update([added(own), added(a)]), [added(a)]);
    assert.deepEqual(w.update([removed(own)]), []);
    assert.equal(w.size, 1);
  });

  it('adds, then an unchanged re-put produces no event', () => {
    const w = new LeaseWatcher(own);
    assert.deepEqual(summary(w.update([added(a), added(b)])), ['added 10.244.2.0/24', 'added 10.244.3.0/24']);
    assert.deepEqual(w.update([added(lease('10.244.2.0/24', '192.168.0.2'))]), []);
    assert.equal(w.size, 2);
  });

  for (const [what, change] of [
    ['public IP', { publicIP: IPAddress.parse('192.168.0.99') }],
    ['VtepMAC', { backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:99' } }],
    ['backend type', { backendType: 'host-gw' }],
    ['public IPv6', { publicIPv6: IPAddress.parse('fd00::2') }],
    ['v6 backend data', { backendV6Data: { VNI: 1 } }],
  ] as const) {
    it(`a changed ${what} produces an added event with the new lease`, () => {
      const w = new LeaseWatcher(own);
      w.update([added(a)]);
      const changed = lease('10.244.2.0/24', '192.168.0.2', change);
      assert.deepEqual(w.update([added(changed)]), [added(changed)]);
      assert.equal([...w.current][0], changed);
    });
  }

  it('a removal carries the lease as it was known, not the attribute-less delete event', () => {
    const w = new LeaseWatcher(own);
    w.update([added(a)]);
    const deleteEvent: Lease = {
      subnet: a.subnet,
      ipv6Subnet: undefined,
      attrs: { publicIP: undefined, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
      expiration: undefined,
    };
    const out = w.update([removed(deleteEvent)]);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.type, 'removed');
    assert.equal(out[0]?.lease, a);
    assert.equal(w.size, 0);
  });

  it('removing an unknown lease produces nothing', () => {
    const w = new LeaseWatcher(own);
    assert.deepEqual(w.update([removed(a)]), []);
  });

  it('add then remove then add in one batch', () => {
    const w = new LeaseWatcher(own);
    assert.deepEqual(summary(w.update([added(a), removed(a), added(a)])), ['added 10.244.2.0/24', 'removed 10.244.2.0/24', 'added 10.244.2.0/24']);
    assert.equal(w.size, 1);
  });

  it('without an own lease nothing is filtered', () => {
    const w = new LeaseWatcher();
    assert.deepEqual(w.update([added(own)]), [added(own)]);
  });

  it('dual-stack keys: the pair is the identity', () => {
    const ownDual = lease('10.244.1.0/24', '192.168.0.1', { v6: 'fc00:0:0:1::/64' });
    const peer = lease('10.244.2.0/24', '192.168.0.2', { v6: 'fc00:0:0:2::/64' });
    const peerOtherV6 = lease('10.244.2.0/24', '192.168.0.2', { v6: 'fc00:0:0:9::/64' });
    const w = new LeaseWatcher(ownDual);
    assert.deepEqual(w.update([added(ownDual), added(peer), added(peerOtherV6)]), [added(peer), added(peerOtherV6)]);
    assert.equal(w.size, 2);
    assert.deepEqual(summary(w.update([removed(peer)])), ['removed 10.244.2.0/24&fc00:0:0:2::/64']);
    const v6only = lease(undefined, '192.168.0.5', { v6: 'fc00:0:0:5::/64' });
    assert.deepEqual(w.update([added(v6only)]), [added(v6only)]);
    assert.deepEqual(w.update([added(lease(undefined, '192.168.0.5', { v6: 'fc00:0:0:5::/64' }))]), []);
  });

  it('handles 5,000 events in one batch in linear time', () => {
    const many: Lease[] = [];
    for (let i = 0; i < 5000; i++) many.push(lease(`10.${10 + (i >> 8)}.${i & 255}.0/24`, `192.168.${i >> 8}.${i & 255}`));
    const w = new LeaseWatcher(own);
    const t0 = process.hrtime.bigint();
    assert.equal(w.update(many.map(added)).length, 5000);
    assert.equal(w.update(many.map(added)).length, 0, 'a re-put of all is silent');
    assert.equal(w.reset(many).length, 0, 'the same snapshot is silent');
    assert.equal(w.update(many.map(removed)).length, 5000);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(w.size, 0);
    // 20,000 operations; quadratic behaviour (25M comparisons per batch) would take seconds.
    assert.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
  });
});

describe('LeaseWatcher.reset', () => {
  it('diffs a snapshot: removals for missing, adds for new and changed, nothing for unchanged', () => {
    const c = lease('10.244.4.0/24', '192.168.0.4');
    const w = new LeaseWatcher(own);
    w.update([added(a), added(b), added(c)]);
    const bChanged = lease('10.244.3.0/24', '192.168.0.33');
    const d = lease('10.244.5.0/24', '192.168.0.5');
    const out = w.reset([own, lease('10.244.2.0/24', '192.168.0.2'), bChanged, d]);
    assert.deepEqual(summary(out).sort(), ['added 10.244.3.0/24', 'added 10.244.5.0/24', 'removed 10.244.4.0/24']);
    assert.equal(out.find((e) => e.type === 'removed')?.lease, c);
    assert.equal(out.find((e) => e.lease.subnet?.toString() === '10.244.3.0/24')?.lease, bChanged);
    assert.deepEqual(
      [...w.current].map((l) => l.subnet?.toString()).sort(),
      ['10.244.2.0/24', '10.244.3.0/24', '10.244.5.0/24'],
    );
  });

  it('an empty snapshot removes everything; the own lease is never reported', () => {
    const w = new LeaseWatcher(own);
    w.reset([own, a, b]);
    assert.equal(w.size, 2);
    assert.deepEqual(summary(w.reset([])).sort(), ['removed 10.244.2.0/24', 'removed 10.244.3.0/24']);
    assert.equal(w.size, 0);
  });

  it('updates after a reset see the snapshot state', () => {
    const w = new LeaseWatcher(own);
    w.reset([a]);
    assert.deepEqual(w.update([added(a)]), []);
    assert.deepEqual(summary(w.update([removed(a)])), ['removed 10.244.2.0/24']);
  });
});

describe('sameAttrs', () => {
  it('treats undefined and null backend data alike and compares data structurally', () => {
    const x = lease('10.244.2.0/24', '192.168.0.2', { backendData: undefined });
    const y = lease('10.244.2.0/24', '192.168.0.2', { backendData: null });
    assert.ok(sameAttrs(x, y));
    assert.ok(sameAttrs(a, lease('10.244.2.0/24', '192.168.0.2')));
    assert.ok(!sameAttrs(a, b));
  });
});
