/** The "gone" rule of leases gc (lease-gc.ts), pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreLease } from '../../../src/ctl/ctl-context.js';
import { gcCandidates, goneFor } from '../../../src/ctl/lease-gc.js';
import type { Lease } from '../../../src/lease/lease.js';

const lease = { subnet: undefined, ipv6Subnet: undefined, attrs: {}, expiration: undefined } as unknown as Lease;
const etcd = (ttl: number | undefined, granted: number | undefined, reserved = false): StoreLease => ({ lease, key: 'k', reserved, ttlSeconds: ttl, grantedTtlSeconds: granted });
const rule = { renewMarginSeconds: 3600, nowMs: 0 };

describe('leases gc rule', () => {
  it('etcd, 24 h TTL and a 60 min margin: a host is overdue only in the last hour of its lease', () => {
    assert.equal(goneFor(etcd(86_400, 86_400), rule), undefined, 'just renewed');
    assert.equal(goneFor(etcd(3600, 86_400), rule), undefined, 'renewal due now');
    assert.equal(goneFor(etcd(600, 86_400), rule)?.seconds, 3000);
  });

  it('etcd, a TTL shorter than the margin: renewal is due after a third of it (flannel-ts)', () => {
    assert.equal(goneFor(etcd(11, 15), rule), undefined, '4 s since renewal, due every 5 s');
    assert.equal(goneFor(etcd(7, 15), rule)?.seconds, 3);
    assert.match(goneFor(etcd(7, 15), rule)?.reason ?? '', /^not renewed for 8s \(due every 5s; expires in 7s\)$/);
  });

  it('reservations, vanished etcd leases and Ready nodes are never gone; the threshold is exclusive', () => {
    assert.equal(goneFor(etcd(undefined, undefined, true), rule), undefined);
    assert.equal(goneFor(etcd(undefined, undefined), rule), undefined);
    const node = (status: string, sinceMs: number): StoreLease => ({ lease, key: 'node/n', node: 'n', reserved: false, ready: { status, since: new Date(sinceMs) } });
    assert.equal(goneFor(node('True', -10_000_000), rule), undefined);
    assert.equal(goneFor(node('Unknown', -7200_000), rule)?.seconds, 7200);
    const c = gcCandidates([etcd(600, 86_400), node('False', -3000_000)], { ...rule, olderThanSeconds: 3000 });
    assert.deepEqual(c, [], 'gone for exactly the threshold is not longer than it');
    assert.equal(gcCandidates([etcd(599, 86_400)], { ...rule, olderThanSeconds: 3000 }).length, 1);
  });
});
