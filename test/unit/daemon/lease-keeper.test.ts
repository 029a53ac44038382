import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseKeeper } from '../../../src/daemon/lease-keeper.js';
import { LeaseLostError, StoreError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { Lease } from '../../../src/lease/lease.js';
import { nullLogger } from '../../../src/log/logger.js';
import type { AcquireOptions, SubnetManager } from '../../../src/subnet/subnet-manager.js';

const lease = (subnet: string, ttlMs: number | undefined): Lease => ({
  subnet: IPNetwork.parse(subnet),
  ipv6Subnet: undefined,
  attrs: { publicIP: IPAddress.parse('192.168.77.11'), publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
  expiration: ttlMs === undefined ? undefined : new Date(Date.now() + ttlMs),
  storeLeaseId: ttlMs === undefined ? '0' : '7',
});

/** A SubnetManager whose renew and acquire answers are scripted. */
function fakeManager(script: { renew: Array<() => Lease>; acquire?: Array<(o: AcquireOptions) => Lease> }) {
  const calls = { renew: 0, acquire: [] as AcquireOptions[] };
  const sm: SubnetManager = {
    name: 'fake',
    getNetworkConfig: () => Promise.reject(new Error('unused')),
    watchLeases: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) }),
    close: () => {},
    renewLease: async () => {
      const step = script.renew[Math.min(calls.renew, script.renew.length - 1)];
      calls.renew++;
      if (!step) throw new Error('no renew scripted');
      return step();
    },
    acquireLease: async (_attrs, o) => {
      calls.acquire.push(o);
      const step = script.acquire?.[calls.acquire.length - 1];
      if (!step) throw new Error('no acquire scripted');
      return step(o);
    },
  };
  return { sm, calls };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('LeaseKeeper', () => {
  it('renews renewMargin before expiry, or after a third of the lifetime when the margin is longer', () => {
    const now = 1_000_000;
    assert.equal(LeaseKeeper.renewDelay(new Date(now + 24 * 3600_000), 3600_000, now), 23 * 3600_000);
    assert.equal(LeaseKeeper.renewDelay(new Date(now + 6_000), 3600_000, now), 2_000);
    assert.equal(LeaseKeeper.renewDelay(new Date(now - 1), 3600_000, now), 0);
  });

  it('keeps renewing a short lease; a reservation (no expiry) is never renewed', async () => {
    const { sm, calls } = fakeManager({ renew: [() => lease('10.5.1.0/24', 90)] });
    const ac = new AbortController();
    const keeper = new LeaseKeeper(lease('10.5.1.0/24', 90), sm, 3600_000, nullLogger(), () => assert.fail('no change'));
    const run = keeper.run(ac.signal);
    await until(() => calls.renew >= 3, 'three renewals');
    ac.abort();
    await run;

    const r = fakeManager({ renew: [] });
    await new LeaseKeeper(lease('10.5.2.0/24', undefined), r.sm, 60_000, nullLogger(), () => {}).run(new AbortController().signal);
    assert.equal(r.calls.renew, 0);
  });

  it('retries a renewal the store failed, without giving the lease up', async () => {
    let n = 0;
    const { sm, calls } = fakeManager({
      renew: [
        () => {
          n++;
          throw new StoreError('ERR_ETCD_UNAVAILABLE', 'fake://', 'down', { retryable: true });
        },
      ],
    });
    const ac = new AbortController();
    const keeper = new LeaseKeeper(lease('10.5.1.0/24', 30), sm, 3600_000, nullLogger(), () => {});
    const run = keeper.run(ac.signal);
    await until(() => n >= 2, 'a second attempt');
    ac.abort();
    await run;
    assert.equal(calls.acquire.length, 0);
  });

  it('takes a lost lease back preferring its subnets; other subnets make it report a change', async () => {
    const same = fakeManager({
      renew: [() => { throw new LeaseLostError('10.5.1.0/24', 'gone'); }, () => lease('10.5.1.0/24', 3600_000)],
      acquire: [() => lease('10.5.1.0/24', 3600_000)],
    });
    const seen: { changed?: Lease } = {};
    const changedTo = (): Lease | undefined => seen.changed;
    const ac = new AbortController();
    const keeper = new LeaseKeeper(lease('10.5.1.0/24', 30), same.sm, 3600_000, nullLogger(), (l) => (seen.changed = l));
    const run = keeper.run(ac.signal);
    await until(() => same.calls.acquire.length === 1, 're-acquisition');
    assert.equal(same.calls.acquire[0]?.preferred?.subnet?.toString(), '10.5.1.0/24');
    ac.abort();
    await run;
    assert.equal(changedTo(), undefined);

    const other = fakeManager({ renew: [], acquire: [() => lease('10.5.9.0/24', 3600_000)] });
    const k2 = new LeaseKeeper(lease('10.5.1.0/24', 3600_000), other.sm, 60_000, nullLogger(), (l) => (seen.changed = l));
    const got = await k2.reacquire('test', new AbortController().signal);
    assert.equal(got.subnet?.toString(), '10.5.9.0/24');
    assert.equal(changedTo()?.subnet?.toString(), '10.5.9.0/24');
    assert.equal(k2.lease.subnet?.toString(), '10.5.9.0/24');
  });

  it('serialises concurrent re-acquisitions into one', async () => {
    const { sm, calls } = fakeManager({ renew: [], acquire: [() => lease('10.5.1.0/24', 3600_000), () => lease('10.5.1.0/24', 3600_000)] });
    const keeper = new LeaseKeeper(lease('10.5.1.0/24', 3600_000), sm, 60_000, nullLogger(), () => {});
    const signal = new AbortController().signal;
    await Promise.all([keeper.reacquire('watch', signal), keeper.reacquire('renewal', signal)]);
    assert.equal(calls.acquire.length, 1);
  });
});
