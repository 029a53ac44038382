import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { registerCloudRouteNetwork, type CloudRouteNetworkOptions } from '../../../../src/backend/cloud/cloud-route-network.js';
import { CloudApiError, RouteTableFullError } from '../../../../src/backend/cloud/cloud-errors.js';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { ConfigError } from '../../../../src/errors.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../../../../src/lease/lease.js';
import { nullLogger } from '../../../../src/log/logger.js';
import { AsyncQueue } from '../../../../src/async/async-queue.js';
import { FakeRouteTable, fakeProvider } from '../../../cloud/fake-cloud-provider.js';

const OWN = '10.244.1.0/24';

function lease(subnet: string, attrs?: LeaseAttrs): Lease {
  return {
    subnet: IPNetwork.parse(subnet),
    ipv6Subnet: undefined,
    attrs: attrs ?? { publicIP: IPAddress.parse('192.168.0.9'), publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
    expiration: undefined,
  };
}

function ctx(over: Partial<BackendContext> & { attrsSeen?: LeaseAttrs[] } = {}, raw: Record<string, unknown> = { Network: '10.244.0.0/16', Backend: { Type: 'fake-vpc' } }): BackendContext {
  return {
    config: validateNetworkConfig(raw, { knownBackends: ['fake-vpc'] }),
    extIface: { name: 'eth0', mtu: 9001, ifaceAddr: IPAddress.parse('192.168.0.5'), ifaceV6Addr: undefined, extAddr: IPAddress.parse('192.168.0.5'), extV6Addr: undefined },
    logger: nullLogger(),
    acquireLease: (attrs) => {
      over.attrsSeen?.push(attrs);
      return Promise.resolve(lease(OWN, attrs));
    },
    kernel: () => {
      throw new Error('no kernel');
    },
    resyncMs: 20,
    ...over,
  };
}

/** Loops started by a test, stopped after it even when it fails (else the process never exits). */
const live: { ac: AbortController; running: Promise<void> }[] = [];
function track(ac: AbortController, running: Promise<void>): void {
  live.push({ ac, running });
}
afterEach(async () => {
  for (const { ac, running } of live.splice(0)) {
    ac.abort();
    await running;
  }
});

const fast: Partial<CloudRouteNetworkOptions> = { backoffInitialMs: 1, backoffMaxMs: 5, orphanGraceMs: 0, env: {} };
const throttled = () => new CloudApiError('fake', 'List', 'slow down', { retryable: true, apiCode: 'Throttling' });

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('registerCloudRouteNetwork', () => {
  it('takes the lease with PublicIP only (as flannel cloud backends) and puts the own route in every table', async () => {
    const attrsSeen: LeaseAttrs[] = [];
    const a = new FakeRouteTable('rtb-a');
    const b = new FakeRouteTable('rtb-b');
    b.routes.set(OWN, 'i-other');
    const net = await registerCloudRouteNetwork(ctx({ attrsSeen }), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([a, b])), ...fast }, AbortSignal.timeout(5000));
    assert.equal(net.lease.subnet?.toString(), OWN);
    assert.equal(net.mtu, 9001);
    assert.equal(attrsSeen[0]?.publicIP?.toString(), '192.168.0.5');
    assert.equal(attrsSeen[0]?.backendType, undefined);
    assert.equal(a.routes.get(OWN), 'i-self');
    assert.equal(b.routes.get(OWN), 'i-self', 'a route pointing elsewhere is replaced');
  });

  it('rejects IPv6 and dual-stack configs naming EnableIPv6', async () => {
    const c = ctx({}, { Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', Backend: { Type: 'fake-vpc' } });
    await assert.rejects(
      registerCloudRouteNetwork(c, { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([])), ...fast }, AbortSignal.timeout(5000)),
      (err: unknown) => err instanceof ConfigError && err.field === 'EnableIPv6',
    );
  });

  it('fails the start on a full table, naming the table and the limit', async () => {
    const t = new FakeRouteTable('rtb-full');
    t.failNext('put', new RouteTableFullError('rtb-full', 50, 'RouteLimitExceeded'));
    await assert.rejects(
      registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast }, AbortSignal.timeout(5000)),
      (err: unknown) => err instanceof RouteTableFullError && /rtb-full/.test(err.message) && /50/.test(err.message),
    );
  });

  it('fails the start on an error that is not retryable (bad credentials), without retrying', async () => {
    const t = new FakeRouteTable('rtb-a');
    t.failNext('list', new CloudApiError('fake', 'List', 'bad key', { retryable: false, apiCode: 'AuthFailure' }), 10);
    await assert.rejects(
      registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast }, AbortSignal.timeout(5000)),
      /AuthFailure/,
    );
    assert.equal(t.calls.length, 1);
  });

  it('retries discovery while it fails with a retryable error', async () => {
    let tries = 0;
    const t = new FakeRouteTable('rtb-a');
    const connect = () => (++tries < 4 ? Promise.reject(throttled()) : Promise.resolve(fakeProvider([t])));
    await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect, ...fast }, AbortSignal.timeout(5000));
    assert.equal(tries, 4);
  });

  it('comes up while the API is down (retryable errors), and the loop places the route later', async () => {
    const t = new FakeRouteTable('rtb-a');
    t.failNext('any', throttled(), 20);
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast, startAttempts: 2 }, AbortSignal.timeout(5000));
    assert.equal(t.routes.size, 0);
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    await waitFor(() => t.routes.get(OWN) === 'i-self', 'own route after the outage');
    ac.abort();
    q.close();
    await running;
  });
});

describe('CloudRouteLoop', () => {
  it('removes a removed lease’s route, repairs the own route, removes orphans, never touches routes outside the network', async () => {
    const t = new FakeRouteTable('rtb-a');
    t.routes.set('0.0.0.0/0', 'igw-1');
    t.routes.set('10.0.0.0/16', 'local');
    t.routes.set('10.244.0.0/16', 'pcx-1'); // the whole network: not one of its subnets
    t.routes.set('10.244.99.0/24', 'i-gone'); // orphan
    t.routes.set('10.244.2.0/24', 'i-two');
    t.routes.set('10.244.3.0/24', 'i-three');
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast, resyncMs: 10 }, AbortSignal.timeout(5000));
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    q.push([{ type: 'added', lease: lease('10.244.2.0/24') }, { type: 'added', lease: lease('10.244.3.0/24') }]);
    await waitFor(() => !t.routes.has('10.244.99.0/24'), 'orphan removed');
    q.push([{ type: 'removed', lease: lease('10.244.3.0/24') }]);
    await waitFor(() => !t.routes.has('10.244.3.0/24'), 'removed lease route gone');
    t.routes.delete(OWN);
    await waitFor(() => t.routes.get(OWN) === 'i-self', 'own route back');
    t.routes.set(OWN, 'i-hijack');
    await waitFor(() => t.routes.get(OWN) === 'i-self', 'own route re-pointed');
    ac.abort();
    q.close();
    await running;
    assert.equal(t.routes.get('0.0.0.0/0'), 'igw-1');
    assert.equal(t.routes.get('10.0.0.0/16'), 'local');
    assert.equal(t.routes.get('10.244.0.0/16'), 'pcx-1');
    assert.equal(t.routes.get('10.244.2.0/24'), 'i-two');
    assert.ok(!t.calls.some((c) => /remove (0\.0|10\.0|10\.244\.0\.0|10\.244\.2\.)/.test(c)), t.calls.join(','));
  });

  it('removes no orphan before the first lease snapshot, and keeps one within the grace period', async () => {
    const t = new FakeRouteTable('rtb-a');
    t.routes.set('10.244.7.0/24', 'i-new');
    let now = 1000;
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast, orphanGraceMs: 5000, now: () => now, resyncMs: 5 }, AbortSignal.timeout(5000));
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    await waitFor(() => t.calls.filter((c) => c === 'list').length >= 4, 'passes before any snapshot');
    assert.ok(t.routes.has('10.244.7.0/24'));
    q.push([]);
    const lists = t.calls.length;
    await waitFor(() => t.calls.length >= lists + 4, 'passes within the grace');
    assert.ok(t.routes.has('10.244.7.0/24'), 'kept within the grace');
    now += 5000;
    await waitFor(() => !t.routes.has('10.244.7.0/24'), 'orphan removed after the grace');
    ac.abort();
    q.close();
    await running;
  });

  it('survives an outage of every call and catches up after it', async () => {
    const t = new FakeRouteTable('rtb-a');
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast, resyncMs: 5 }, AbortSignal.timeout(5000));
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    q.push([{ type: 'added', lease: lease('10.244.5.0/24') }]);
    t.routes.set('10.244.5.0/24', 'i-five');
    t.failNext('any', new CloudApiError('fake', 'List', 'down', { retryable: true, status: 503 }), 30);
    q.push([{ type: 'removed', lease: lease('10.244.5.0/24') }]);
    t.routes.delete(OWN);
    await waitFor(() => t.routes.get(OWN) === 'i-self' && !t.routes.has('10.244.5.0/24'), 'caught up after the outage');
    ac.abort();
    q.close();
    await running;
  });
});

describe('CloudRouteLoop backoff', () => {
  it('waits longer after each failed pass, doubling up to the cap (jitter pinned to its low end)', async () => {
    const t = new FakeRouteTable('rtb-a');
    const stamps: number[] = [];
    const origList = t.list.bind(t);
    t.list = (signal: AbortSignal) => {
      stamps.push(Date.now());
      return origList(signal);
    };
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), env: {}, backoffInitialMs: 40, backoffMaxMs: 160, random: () => 0, resyncMs: 5000 }, AbortSignal.timeout(5000));
    t.failNext('list', throttled(), 6);
    stamps.length = 0;
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    await waitFor(() => stamps.length >= 7, 'seven passes (six failing)');
    ac.abort();
    q.close();
    await running;
    const gaps = stamps.slice(1, 7).map((s, i) => s - stamps[i]!);
    // Delays base/2 with random() = 0: 20, 40, 80, 80, 80, 80 ms (a slow machine only lengthens them).
    [20, 40, 80, 80, 80, 80].forEach((want, i) => assert.ok(gaps[i]! >= want - 2, `gap ${i} = ${gaps[i]} ms, want >= ${want}`));
    assert.ok(gaps[2]! < 1000, 'capped well below the resync period');
  });
});

describe('CloudRouteLoop metrics', () => {
  it('reports the remote leases routed in every table and each pass’s repairs', async () => {
    const a = new FakeRouteTable('rtb-a');
    const b = new FakeRouteTable('rtb-b');
    a.routes.set('10.244.2.0/24', 'i-two');
    b.routes.set('10.244.2.0/24', 'i-two');
    a.routes.set('10.244.3.0/24', 'i-three');
    const programmed: number[] = [];
    const repairs: number[] = [];
    const metrics = { peersProgrammed: (_f: string, n: number) => programmed.push(n), reconcileRun: (_s: number, r: number) => repairs.push(r) };
    const net = await registerCloudRouteNetwork(ctx({ metrics }), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([a, b])), ...fast, resyncMs: 10 }, AbortSignal.timeout(5000));
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    const running = net.run(q, ac.signal);
    track(ac, running);
    q.push([{ type: 'added', lease: lease('10.244.2.0/24') }, { type: 'added', lease: lease('10.244.3.0/24') }]);
    await waitFor(() => programmed.length >= 2 && programmed.at(-1) === 1, 'one peer routed in both tables');
    b.routes.delete(OWN);
    await waitFor(() => repairs.some((r) => r === 1), 'a pass with one repair');
    ac.abort();
    q.close();
    await running;
  });
});

describe('CloudRouteLoop wake-ups', () => {
  it('a lease batch that arrives during a pass gets its own pass at once, not at the next resync', async () => {
    const t = new FakeRouteTable('rtb-a');
    t.routes.set('10.244.4.0/24', 'i-four');
    // A long orphan grace: only the removal event can take the route away.
    const net = await registerCloudRouteNetwork(ctx(), { type: 'fake-vpc', connect: () => Promise.resolve(fakeProvider([t])), ...fast, orphanGraceMs: 60_000, resyncMs: 60_000 }, AbortSignal.timeout(5000));
    let release: (() => void) | undefined;
    const origList = t.list.bind(t);
    const ac = new AbortController();
    const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
    q.push([{ type: 'added', lease: lease('10.244.4.0/24') }]);
    const running = net.run(q, ac.signal);
    track(ac, running);
    try {
      await waitFor(() => t.calls.filter((c) => c === 'list').length >= 2, 'the first pass');
      // The next pass hangs in list() until released; the removal arrives meanwhile.
      t.list = (signal: AbortSignal) => new Promise((resolve) => (release = () => resolve(origList(signal))));
      q.push([]);
      await waitFor(() => release !== undefined, 'a pass in list()');
      q.push([{ type: 'removed', lease: lease('10.244.4.0/24') }]);
      await new Promise((r) => setImmediate(r));
      t.list = origList;
      release!();
      await waitFor(() => !t.routes.has('10.244.4.0/24'), 'the removed lease’s route gone long before the 60 s resync');
    } finally {
      ac.abort();
      q.close();
      await running;
    }
  });
});
