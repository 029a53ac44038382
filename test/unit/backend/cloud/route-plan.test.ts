import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { orphanKey, planTable, subnetInside, type PlanInput } from '../../../../src/backend/cloud/route-plan.js';
import type { CloudRoute } from '../../../../src/backend/cloud/route-table.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';

const NETWORK = IPNetwork.parse('10.244.0.0/16');
const OWN = IPNetwork.parse('10.244.1.0/24');

function input(over: Partial<PlanInput> = {}): PlanInput {
  return { network: NETWORK, own: OWN, leases: new Set(), removedLeases: new Set(), synced: true, orphanSince: new Map(), orphanGraceMs: 0, now: 1000, ...over };
}

const route = (destination: string, target = 'eni-x', self = false): CloudRoute => ({ destination, target, targetsThisInstance: self });

describe('subnetInside', () => {
  it('takes only proper subnets of the network, in strict CIDR form', () => {
    assert.equal(subnetInside(NETWORK, '10.244.3.0/24')?.toString(), '10.244.3.0/24');
    assert.equal(subnetInside(NETWORK, '10.244.3.128/25')?.toString(), '10.244.3.128/25');
    for (const d of ['10.244.0.0/16', '10.0.0.0/8', '10.245.0.0/24', '0.0.0.0/0', '10.244.3.1/24', 'pl-12345', 'fd00::/64', '', '10.244.3.0']) {
      assert.equal(subnetInside(NETWORK, d), undefined, d);
    }
  });
});

describe('planTable', () => {
  it('puts the own route when missing or pointing elsewhere, not when it targets us', () => {
    assert.equal(planTable([], input()).putOwn, true);
    assert.equal(planTable([route('10.244.1.0/24', 'eni-other')], input()).putOwn, true);
    assert.equal(planTable([route('10.244.1.0/24', 'eni-me', true)], input()).putOwn, false);
  });

  it('removes a removed lease’s route at once, even before the lease snapshot', () => {
    const plan = planTable([route('10.244.3.0/24')], input({ removedLeases: new Set(['10.244.3.0/24']), synced: false }));
    assert.deepEqual(plan.remove.map((r) => [r.route.destination, r.reason]), [['10.244.3.0/24', 'its lease was removed']]);
  });

  it('keeps routes of known leases whatever their target; an orphan goes only after the grace and a snapshot', () => {
    const routes = [route('10.244.2.0/24', 'eni-whoever'), route('10.244.9.0/24', 'eni-gone')];
    const leases = new Set(['10.244.2.0/24']);
    assert.deepEqual(planTable(routes, input({ leases, synced: false })).remove, []);
    const first = planTable(routes, input({ leases, orphanGraceMs: 5000, now: 1000 }));
    assert.deepEqual(first.remove, []);
    assert.deepEqual([...first.orphanSince], [[orphanKey(routes[1]!), 1000]]);
    assert.deepEqual(planTable(routes, input({ leases, orphanGraceMs: 5000, now: 5999, orphanSince: first.orphanSince })).remove, []);
    const later = planTable(routes, input({ leases, orphanGraceMs: 5000, now: 6000, orphanSince: first.orphanSince }));
    assert.deepEqual(later.remove.map((r) => r.route.destination), ['10.244.9.0/24']);
    // Re-pointed meanwhile: a new sighting, the grace starts again.
    const moved = planTable([route('10.244.9.0/24', 'eni-new')], input({ orphanGraceMs: 5000, now: 6000, orphanSince: first.orphanSince }));
    assert.deepEqual(moved.remove, []);
  });

  const cidr = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([v, len]) => {
    const base = len === 0 ? 0 : (v & (~0 << (32 - len))) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.')}/${len}`;
  });
  const near = fc.integer({ min: 0, max: 255 }).map((k) => `10.244.${k}.0/24`);
  const arbRoute = fc.record({ destination: fc.oneof(cidr, near, fc.constant('pl-0abc')), target: fc.constantFrom('eni-a', 'eni-b', 'igw-1', 'local'), targetsThisInstance: fc.boolean() });

  it('never removes a route outside the network, the own route, or a route of a known lease (property)', () => {
    fc.assert(
      fc.property(fc.array(arbRoute, { maxLength: 30 }), fc.array(near, { maxLength: 10 }), fc.array(near, { maxLength: 10 }), fc.boolean(), (routes, leases, removed, synced) => {
        const leaseSet = new Set(leases.filter((l) => l !== OWN.toString()));
        const plan = planTable(routes, input({ leases: leaseSet, removedLeases: new Set(removed), synced }));
        for (const { route: r } of plan.remove) {
          const inside = subnetInside(NETWORK, r.destination);
          assert.ok(inside, `removed ${r.destination}, outside the network`);
          assert.notEqual(inside.toString(), OWN.toString());
          assert.ok(!leaseSet.has(inside.toString()));
        }
        assert.equal(plan.putOwn, !routes.some((r) => r.destination === OWN.toString() && r.targetsThisInstance));
      }),
      { seed: 0x5eed11, numRuns: 300 },
    );
  });
});
