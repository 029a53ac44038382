/**
 * The node informer over real HTTP (HttpKubeApi -> in-process FaultProxy -> the stand-in API
 * server) when its watch connection goes quiet: a blackhole (every connection accepted, nothing
 * answered) is noticed when the silent watch's renewal gets no answer; a stalled stream (its
 * connection frozen, new ones fine) is replaced by its renewal on a new connection, bookmarks
 * or none, or given up by the learnt bookmark cadence; either way the watch goes on from the
 * last resourceVersion seen (no re-list), or, when that version has left the server's history
 * meanwhile (410), the nodes are re-listed. An event both streams of a renewal deliver is
 * applied once. A stream that speaks costs no renewal.
 * Settings are scaled down (afterMs 300, timeoutMs 200) so the file runs in seconds.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { nullLogger } from '../../../../src/log/logger.js';
import type { NodeInfo } from '../../../../src/subnet/kube/kube-node.js';
import { HttpKubeApi } from '../../../../src/subnet/kube/kube-client.js';
import { NodeInformer } from '../../../../src/subnet/kube/node-informer.js';
import { FakeKubeApiServer } from '../../../fakes/kube-api-server/kube-api-server.js';
import { FaultProxy } from '../../../support/fault-proxy.js';
import { poll } from '../../../support/poll.js';

const TOKEN = 'node-watch-faults-token';
const AFTER_MS = 300;
const TIMEOUT_MS = 200;

async function setup(bookmarkIntervalMs: number, probe = { afterMs: AFTER_MS, timeoutMs: TIMEOUT_MS }) {
  const server = new FakeKubeApiServer({ tokens: { [TOKEN]: 'system:serviceaccount:kube-flannel:flannel' }, bookmarkIntervalMs });
  const url = new URL(await server.listen({ host: '127.0.0.1', port: 0 }));
  const proxy = new FaultProxy({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: Number(url.port) });
  const port = await proxy.start();
  const api = new HttpKubeApi({ server: `http://127.0.0.1:${port}`, tls: { insecure: false }, auth: { kind: 'token', token: TOKEN } }, { requestTimeoutMs: 5000 });
  const informer = new NodeInformer({
    api,
    annotationKeys: [],
    logger: nullLogger(),
    watchProbeAfterMs: probe.afterMs,
    watchProbeTimeoutMs: probe.timeoutMs,
    watchBackoff: { initialMs: 20, maxMs: 200 },
    listBackoff: { initialMs: 20, maxMs: 200 },
    random: () => 0,
  });
  server.store.create({ name: 'node-1', podCIDR: '10.244.1.0/24' });
  // Every change the listeners see, in order: a duplicate shows as a change seen twice.
  const changes: string[] = [];
  const show = (n: NodeInfo | undefined) => (n ? `${n.name}@${n.podCIDRs.join(',')}` : '-');
  informer.subscribe({ onResync: () => changes.push('resync'), onChange: (prev, next) => changes.push(`${show(prev)} -> ${show(next)}`) });
  informer.start();
  await informer.waitForSync(AbortSignal.timeout(5000), 5000);
  await poll(() => server.openWatches === 1, { what: 'the watch open', timeoutMs: 5000, intervalMs: 5 });
  const watchVersions = () => server.requests.filter((r) => r.verb === 'watch').map((r) => new URL(r.url, 'http://x').searchParams.get('resourceVersion'));
  const probes = () => server.requests.filter((r) => r.url === '/version').length;
  const close = async () => {
    informer.stop();
    api.close();
    await proxy.stop();
    await server.close();
  };
  return { server, api, proxy, informer, changes, watchVersions, probes, close };
}

describe('node watch over a quiet connection (real HTTP through a fault proxy)', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  afterEach(async () => {
    await s?.close();
  });

  it('blackhole: noticed when the renewal gets no answer within afterMs + timeoutMs, then resumed from the last resourceVersion (no re-list)', async () => {
    s = await setup(0);
    const rv = s.server.store.resourceVersion;
    s.proxy.set({ mode: 'blackhole' });
    const t0 = Date.now();
    s.server.store.create({ name: 'node-2', podCIDR: '10.244.2.0/24' });
    await poll(() => s.informer.stats.abandoned >= 1, { what: 'the watch abandoned', timeoutMs: 5000, intervalMs: 5 });
    const detected = Date.now() - t0;
    assert.ok(detected <= AFTER_MS + TIMEOUT_MS + 700, `noticed after ${detected} ms (bound ${AFTER_MS} + ${TIMEOUT_MS} ms)`);
    assert.equal(s.informer.get('node-2'), undefined, 'nothing came through the blackhole');
    s.proxy.set({ mode: 'pass' });
    const t1 = Date.now();
    // Re-opened attempts made during the blackhole hang on dead connections; each is given up in turn.
    await poll(() => s.informer.get('node-2'), { what: 'node-2 seen', timeoutMs: 5000, intervalMs: 5 });
    const resumed = Date.now() - t1;
    assert.ok(resumed <= AFTER_MS + TIMEOUT_MS + 1000, `node-2 seen ${resumed} ms after the blackhole ended`);
    assert.equal(s.informer.stats.lists, 1, 'no re-list');
    assert.deepEqual([...new Set(s.watchVersions().slice(1))], [String(rv)], `every re-opened watch from resourceVersion ${rv}`);
  });

  it('stall: a frozen stream whose server still answers is noticed by the bookmark cadence, resumed without a re-list', async () => {
    s = await setup(100);
    await poll(() => s.informer.bookmarkIntervalMs > 0, { what: 'the bookmark cadence learnt', timeoutMs: 3000, intervalMs: 5 });
    const rv = s.server.store.resourceVersion;
    s.proxy.set({ mode: 'stall' });
    const t0 = Date.now();
    s.server.store.create({ name: 'node-2', podCIDR: '10.244.2.0/24' });
    await poll(() => s.informer.get('node-2'), { what: 'node-2 seen', timeoutMs: 5000, intervalMs: 5 });
    const took = Date.now() - t0;
    assert.ok(took <= 3 * 100 + 1200, `node-2 seen ${took} ms into the stall (3 bookmark intervals of 100 ms)`);
    assert.ok(s.informer.stats.abandoned >= 1);
    assert.equal(s.informer.stats.lists, 1, 'no re-list');
    const versions = s.watchVersions();
    assert.ok(Number(versions.at(-1)) >= Number(rv), `re-opened from ${versions.at(-1)}, not before ${rv}`);
    s.proxy.set({ mode: 'pass' }); // the stalled stream's held bytes now arrive: nothing changes
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.informer.size, 2);
  });

  it('stall of the watch connection alone, no bookmarks: the renewal on a new connection carries on from the last resourceVersion within afterMs', async () => {
    s = await setup(0);
    // A request as the agent makes at start: its kept-alive connection waits, idle, in the pool.
    await s.api.patchNodeStatus('node-1', { metadata: { annotations: { 'example.com/x': 'y' } } }, AbortSignal.timeout(5000));
    const rv = s.server.store.resourceVersion;
    const watchesBefore = s.watchVersions().length;
    // Every connection open now is frozen (the watch's, and the idle one in the pool); new ones pass.
    s.proxy.set({ mode: 'stall' });
    const t0 = Date.now();
    s.server.store.create({ name: 'node-2', podCIDR: '10.244.2.0/24' });
    await poll(() => s.informer.get('node-2'), { what: 'node-2 seen', timeoutMs: 5000, intervalMs: 5 });
    const took = Date.now() - t0;
    console.log(`# stall of the watch connection only, no bookmarks: node-2 seen ${took} ms into the stall (renewal after ${AFTER_MS} ms of silence)`);
    // The silence may have begun up to afterMs before the stall (the last renewal), never more.
    assert.ok(took <= AFTER_MS + 700, `node-2 seen ${took} ms into the stall`);
    assert.equal(s.informer.bookmarkIntervalMs, 0, 'no bookmark ever came');
    assert.equal(s.informer.stats.abandoned, 0, 'replaced by its renewal, not given up (no pooled, frozen connection used)');
    assert.equal(s.informer.stats.lists, 1, 'no re-list');
    assert.ok(s.watchVersions().slice(watchesBefore).includes(String(rv)), `renewed from resourceVersion ${rv}`);
    s.proxy.set({ mode: 'pass' }); // the stalled stream's held bytes now arrive, to a stream dropped
    await new Promise((r) => setTimeout(r, 200)); // the time watched, not a synchronisation
    assert.deepEqual(s.changes, ['resync', '- -> node-2@10.244.2.0/24'], 'node-2 added exactly once');
  });

  it('an event written during a renewal reaches the listeners exactly once (both streams deliver it)', async () => {
    // Every chunk held 300 ms each way: the renewal's request reaches the server 300 ms after it
    // is sent, so events written meanwhile come on the old stream first, then again in the new
    // stream's replay from the version the renewal asked for.
    s = await setup(0, { afterMs: AFTER_MS, timeoutMs: 2000 });
    s.proxy.set({ mode: 'delay', delayMs: 300 });
    const before = s.informer.stats.renewals;
    await poll(() => s.informer.stats.renewals > before, { what: 'a renewal sent', timeoutMs: 5000, intervalMs: 2 });
    s.server.store.create({ name: 'node-3', podCIDR: '10.244.3.0/24' });
    s.server.store.delete('node-3');
    s.server.store.create({ name: 'node-4', podCIDR: '10.244.4.0/24' });
    // The next renewal is sent once the new stream has been silent for afterMs: its replay read.
    await poll(() => s.informer.get('node-4') && s.informer.stats.renewals > before + 1, { what: 'node-4 seen, the renewed stream silent again', timeoutMs: 5000, intervalMs: 5 });
    s.proxy.set({ mode: 'pass' });
    assert.deepEqual(s.changes, ['resync', '- -> node-3@10.244.3.0/24', 'node-3@10.244.3.0/24 -> -', '- -> node-4@10.244.4.0/24'], 'each change seen once, in order');
    assert.equal(s.informer.stats.duplicates, 3, 'the three events the old stream delivered were skipped in the replay');
    assert.equal(s.informer.stats.abandoned, 0);
    assert.equal(s.informer.stats.lists, 1, 'no re-list');
  });

  it('410 after the silence: the version left the history meanwhile, so the nodes are re-listed', async () => {
    s = await setup(0);
    s.proxy.set({ mode: 'blackhole' });
    s.server.store.create({ name: 'node-2', podCIDR: '10.244.2.0/24' });
    s.server.compact();
    await poll(() => s.informer.stats.abandoned >= 1, { what: 'the watch abandoned', timeoutMs: 5000, intervalMs: 5 });
    s.proxy.set({ mode: 'pass' });
    await poll(() => s.informer.get('node-2'), { what: 'node-2 seen', timeoutMs: 5000, intervalMs: 5 });
    assert.equal(s.informer.stats.expired, 1, 'one 410');
    assert.equal(s.informer.stats.lists, 2, 're-listed once');
  });
});

describe('node watch that speaks', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup(100);
  });
  after(async () => {
    await s.close();
  });
  it('sends no renewal while bookmarks flow (one per 100 ms, renewal after 300 ms of silence)', async () => {
    await new Promise((r) => setTimeout(r, 5 * AFTER_MS)); // the time watched, not a synchronisation
    assert.equal(s.informer.stats.renewals, 0, 'no renewal while the stream delivers');
    assert.equal(s.server.count('watch', 'nodes'), 1, 'one watch request');
    assert.equal(s.probes(), 0, 'no /version either');
    assert.equal(s.informer.stats.abandoned, 0);
    assert.equal(s.informer.stats.watches, 1);
  });
});
