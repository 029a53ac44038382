import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnDeletes } from '../../../src/backend/own-deletes.js';
import { fdbKey, neighborKey, routeKey } from '../../../src/backend/peer-entries.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { KernelEvent } from '../../../src/kernel/events.js';
import type { FdbEntry } from '../../../src/kernel/fdb.js';
import type { Neighbor } from '../../../src/kernel/neighbor.js';
import type { Route } from '../../../src/kernel/route.js';

const route: Route = { dst: IPNetwork.parse('10.244.7.0/24'), gateway: IPAddress.parse('10.244.7.0'), linkIndex: 5, onlink: true };
const neighbor: Neighbor = { linkIndex: 5, ip: IPAddress.parse('10.244.7.0'), hardwareAddr: 'aa:bb:cc:dd:ee:01' };
const fdb: FdbEntry = { linkIndex: 5, hardwareAddr: 'AA:BB:CC:DD:EE:01', dst: IPAddress.parse('192.168.77.13') };
const del = (e: Partial<Record<'route' | 'neighbor' | 'fdb', unknown>>): KernelEvent => {
  if (e.route) return { kind: 'route', action: 'delete', route: e.route as Route };
  if (e.neighbor) return { kind: 'neighbor', action: 'delete', neighbor: e.neighbor as Neighbor };
  return { kind: 'fdb', action: 'delete', fdb: e.fdb as FdbEntry };
};

describe('OwnDeletes', () => {
  it('takes the notification of each delete it was told of, once, and no other', () => {
    const own = new OwnDeletes();
    own.note('route', [routeKey(route)]);
    own.note('neighbor', [neighborKey(neighbor)]);
    own.note('fdb', [fdbKey(fdb)]);
    // The kernel's notification carries what the kernel parsed (table 254 named, MAC in lower case).
    assert.equal(own.take(del({ route: { ...route, table: 254 } })), true);
    assert.equal(own.take(del({ route })), false, 'a second delete of the same route is not ours');
    assert.equal(own.take(del({ neighbor: { ...neighbor, state: 0x80 } })), true);
    assert.equal(own.take(del({ fdb: { ...fdb, hardwareAddr: 'aa:bb:cc:dd:ee:01' } })), true);
    assert.equal(own.take(del({ route: { ...route, dst: IPNetwork.parse('10.244.8.0/24') } })), false, 'someone else deleted another route');
    assert.equal(own.size, 0);
  });

  it('never takes a new-entry notification, and forgets deletes after its time', () => {
    let now = 1000;
    const own = new OwnDeletes(5000, () => now);
    own.note('route', [routeKey(route)]);
    assert.equal(own.take({ kind: 'route', action: 'new', route }), false);
    now += 5001;
    assert.equal(own.take(del({ route })), false, 'a delete long after ours is an outside change');
    own.note('neighbor', [neighborKey(neighbor)]);
    assert.equal(own.size, 1, 'expired entries are pruned when new ones come');
  });

  it('forgets everything rather than grow past its bound', () => {
    const own = new OwnDeletes();
    own.note('route', Array.from({ length: 4000 }, (_, i) => i));
    assert.equal(own.size, 4000);
    own.note('route', Array.from({ length: 200 }, (_, i) => 10_000 + i));
    assert.equal(own.size, 0);
    assert.equal(own.take(del({ route })), false);
  });
});
