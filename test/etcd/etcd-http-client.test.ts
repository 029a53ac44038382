/**
 * EtcdHttpClient against a real etcd 3.4 on loopback (free ports) and a unix socket.
 * Run: npx tsc -p . && node --test dist/test/etcd/
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EtcdCompactedError, StoreError } from '../../src/errors.js';
import { EtcdHttpClient, type EtcdHttpClientOptions } from '../../src/subnet/etcd/etcd-http-client.js';
import type { WatchBatch } from '../../src/subnet/etcd/etcd-types.js';
import { freePort, startEtcd, type EtcdProcess } from '../support/etcd-process.js';
import { compact, putMany } from './etcd-raw.js';

/** Reads batches until `enough` holds or `ms` passes (the watch then returns quietly). */
async function collect(client: EtcdHttpClient, prefix: string, from: number, enough: (events: number) => boolean, ms = 5000): Promise<WatchBatch[]> {
  const batches: WatchBatch[] = [];
  let events = 0;
  for await (const b of client.watchPrefix(prefix, from, { signal: AbortSignal.timeout(ms) })) {
    batches.push(b);
    events += b.events.length;
    if (enough(events)) break;
  }
  return batches;
}

describe('EtcdHttpClient (etcd on 127.0.0.1)', () => {
  let etcd: EtcdProcess;
  let http: string;
  const clients: EtcdHttpClient[] = [];
  const requests: string[] = [];
  const newClient = (opts: Partial<EtcdHttpClientOptions> = {}) => {
    const c = new EtcdHttpClient({ endpoints: [http], onRequest: (r) => requests.push(`${r.endpoint} ${r.path}`), ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    etcd = await startEtcd({ clientUrls: [`http://127.0.0.1:${await freePort()}`, 'unix://localhost:0'], extraArgs: ['--max-txn-ops=10000'] });
    http = etcd.clientEndpoint;
  });
  after(async () => {
    for (const c of clients) c.close();
    await etcd?.dispose();
  });

  test('put, get, delete', async () => {
    const c = newClient();
    const rev = await c.put('/t/a', 'é value');
    const kv = await c.get('/t/a');
    assert.deepEqual(kv, { key: '/t/a', value: 'é value', createRevision: rev, modRevision: rev, version: 1, lease: '0' });
    assert.equal(await c.delete('/t/a'), 1);
    assert.equal(await c.get('/t/a'), undefined);
    assert.equal(await c.delete('/t/a'), 0);
  });

  test('rangePrefix lists 5,000 keys in a handful of requests, at one revision', async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({ key: `/big/k${String(i).padStart(5, '0')}`, value: `v${i}` }));
    const rev = await putMany(http, entries);
    await putMany(http, [{ key: '/big0', value: 'outside' }, { key: '/bi', value: 'outside' }]);
    const c = newClient();
    requests.length = 0;
    const r = await c.rangePrefix('/big/', {});
    assert.equal(r.kvs.length, 5000);
    assert.ok(r.revision > rev);
    assert.deepEqual(r.kvs.map((kv) => kv.key), entries.map((e) => e.key));
    assert.equal(r.kvs[4999]!.value, 'v4999');
    assert.ok(requests.length <= 4, `${requests.length} requests: ${requests.join(', ')}`);
    const old = await c.rangePrefix('/big/', { revision: rev - 1 });
    assert.equal(old.kvs.length, 0);
  });

  test('scanPrefix streams 5,000 keys to the visitor in key order and keeps only what it returns', async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({ key: `/scan/k${String(i).padStart(5, '0')}`, value: `{"n":${i}}` }));
    const rev = await putMany(http, entries);
    const c = newClient();
    const seen: string[] = [];
    const r = await c.scanPrefix('/scan/', (kv) => (seen.push(kv.key), kv.value.endsWith('0}') ? JSON.parse(kv.value).n : undefined), {});
    assert.deepEqual(seen, entries.map((e) => e.key));
    assert.deepEqual(r.items, Array.from({ length: 500 }, (_, i) => i * 10));
    assert.ok(r.revision >= rev);
  });

  test('scanPrefix: a page cut off half-way is read again from the next endpoint and counted once', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: `/cut/k${String(i).padStart(5, '0')}`, value: 'x'.repeat(100) }));
    await putMany(http, entries);
    // The first endpoint answers every range with the first 64 KiB of a real reply, then hangs up.
    const cutter = createServer(async (req, res) => {
      const body: Buffer[] = [];
      for await (const chunk of req) body.push(chunk as Buffer);
      const real = await fetch(`${http}/v3/kv/range`, { method: 'POST', body: Buffer.concat(body) });
      const text = Buffer.from(await real.arrayBuffer());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
      res.write(text.subarray(0, 64 * 1024), () => res.socket?.destroy());
    });
    await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve));
    try {
      const addr = cutter.address() as AddressInfo;
      const c = newClient({ endpoints: [`http://127.0.0.1:${addr.port}`, http] });
      let visits = 0;
      const r = await c.scanPrefix('/cut/', (kv) => (visits++, kv.key), {});
      assert.deepEqual(r.items, entries.map((e) => e.key));
      assert.ok(visits > entries.length, `the cut-off page was visited in part (${visits} visits)`);
    } finally {
      await new Promise((resolve) => cutter.close(resolve));
    }
  });

  test('createIfAbsent with unchangedSince fails once any key under the prefix changed after the revision', async () => {
    const c = newClient();
    const listedAt = await c.put('/dual/10.5.1.0-24&fc00::-64', 'x');
    await c.put('/dual/10.5.2.0-24&fc00:0:0:1::-64', 'y');
    const stale = await c.createIfAbsent('/dual/10.5.2.0-24&fc00:0:0:2::-64', 'z', { unchangedSince: { prefix: '/dual/', revision: listedAt } });
    assert.equal(stale.succeeded, false);
    const fresh = await c.rangePrefix('/dual/', {});
    const ok = await c.createIfAbsent('/dual/10.5.3.0-24&fc00:0:0:3::-64', 'z', { unchangedSince: { prefix: '/dual/', revision: fresh.revision } });
    assert.equal(ok.succeeded, true);
    // Keys outside the prefix do not count.
    await c.put('/duality', 'outside');
    const unaffected = await c.createIfAbsent('/dual/10.5.4.0-24&fc00:0:0:4::-64', 'w', { unchangedSince: { prefix: '/dual/', revision: ok.revision } });
    assert.equal(unaffected.succeeded, true);
  });

  test('createIfAbsent: exactly one of two concurrent creators wins (20 rounds)', async () => {
    const a = newClient();
    const b = newClient();
    for (let i = 0; i < 20; i++) {
      const key = `/race/${i}`;
      const [ra, rb] = await Promise.all([a.createIfAbsent(key, 'a', {}), b.createIfAbsent(key, 'b', {})]);
      assert.equal(Number(ra.succeeded) + Number(rb.succeeded), 1, `round ${i}`);
      const winner = ra.succeeded ? 'a' : 'b';
      assert.equal((await a.get(key))?.value, winner);
    }
    assert.equal((await a.createIfAbsent('/race/0', 'again', {})).succeeded, false);
  });

  test('putIfUnchanged is a compare-and-swap on the mod revision', async () => {
    const c = newClient();
    const rev = await c.put('/cas', 'one');
    const ok = await c.putIfUnchanged('/cas', 'two', rev, {});
    assert.equal(ok.succeeded, true);
    assert.equal((await c.putIfUnchanged('/cas', 'three', rev, {})).succeeded, false);
    assert.equal((await c.get('/cas'))?.value, 'two');
    assert.equal((await c.get('/cas'))?.modRevision, ok.revision);
  });

  test('leases: grant, bind, keep alive, revoke deletes the key, TTL -1 after', async () => {
    const c = newClient();
    const lease = await c.grantLease(60);
    assert.match(lease.id, /^\d+$/);
    assert.equal(lease.ttlSeconds, 60);
    await c.put('/leased', 'x', { lease: lease.id });
    assert.equal((await c.get('/leased'))?.lease, lease.id);
    assert.ok((await c.timeToLive(lease.id)) <= 60);
    assert.equal(await c.keepAliveOnce(lease.id), 60);
    const created = await c.createIfAbsent('/leased2', 'y', { lease: lease.id });
    assert.equal(created.succeeded, true);
    await c.revokeLease(lease.id);
    assert.equal(await c.get('/leased'), undefined);
    assert.equal(await c.get('/leased2'), undefined);
    assert.equal(await c.timeToLive(lease.id), -1);
    assert.equal(await c.keepAliveOnce(lease.id), 0);
    await c.revokeLease(lease.id); // gone already: still fine
  });

  test('watch: 1,000 keys deleted by one lease revoke arrive as 1,000 delete events in one batch', async () => {
    const c = newClient();
    const lease = await c.grantLease(120);
    const rev = await putMany(http, Array.from({ length: 1000 }, (_, i) => ({ key: `/w1k/${i}`, value: 'v', lease: lease.id })));
    const batches = collect(c, '/w1k/', rev + 1, (n) => n >= 1000);
    await c.revokeLease(lease.id);
    const got = await batches;
    const events = got.flatMap((b) => b.events);
    assert.equal(events.length, 1000);
    assert.equal(got.length, 1);
    assert.ok(events.every((e) => e.type === 'delete' && e.kv.modRevision === got[0]!.revision));
  });

  test('watch: puts (no "type" field) and deletes in order, only under the prefix', async () => {
    const c = newClient();
    const rev = await c.put('/wp/a', '1');
    await c.put('/wp0', 'outside');
    await c.delete('/wp/a');
    await c.put('/wp/b', '');
    const got = (await collect(c, '/wp/', rev, (n) => n >= 3)).flatMap((b) => b.events);
    assert.deepEqual(got.map((e) => [e.type, e.kv.key, e.kv.value]), [['put', '/wp/a', '1'], ['delete', '/wp/a', ''], ['put', '/wp/b', '']]);
  });

  test('watch from a compacted revision throws EtcdCompactedError', async () => {
    const c = newClient();
    const r1 = await c.put('/cmp/a', '1');
    const r2 = await c.put('/cmp/a', '2');
    await compact(http, r2);
    await assert.rejects(collect(c, '/cmp/', r1, () => true), (err: unknown) => err instanceof EtcdCompactedError && err.compactRevision === r2);
  });

  test('aborting a watch ends it quietly', async () => {
    const c = newClient();
    const ac = new AbortController();
    const seen: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of c.watchPrefix('/quiet/', 1, { signal: ac.signal })) seen.push(b);
    })();
    await c.put('/quiet/a', '1');
    ac.abort();
    await done;
    await assert.rejects(c.get('/x', { signal: ac.signal }), { name: 'AbortError' });
  });

  test('the unix socket endpoint works', async () => {
    const unix = etcd.clientEndpoints[1]!;
    assert.match(unix, /^unix:\/\/\/.*localhost:0$/);
    const c = newClient({ endpoints: [unix] });
    const rev = await c.put('/unix', 'yes');
    assert.equal((await c.get('/unix'))?.value, 'yes');
    const got = await collect(c, '/unix', rev, (n) => n >= 1);
    assert.equal(got[0]!.events[0]!.kv.value, 'yes');
  });

  test('an unreachable endpoint gives a retryable ERR_ETCD_UNAVAILABLE naming it', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = newClient({ endpoints: [dead] });
    await assert.rejects(c.get('/x'), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'ERR_ETCD_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.equal(err.endpoint, dead);
      assert.ok(err.message.includes(dead));
      return true;
    });
    await assert.rejects(collect(c, '/x', 1, () => true), { code: 'ERR_ETCD_UNAVAILABLE' });
  });

  test('fails over from a dead first endpoint and remembers the live one', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = newClient({ endpoints: [dead, http] });
    requests.length = 0;
    await c.put('/fo', '1');
    assert.equal((await c.get('/fo'))?.value, '1');
    assert.deepEqual(requests, [`${dead} /v3/kv/put`, `${http} /v3/kv/put`, `${http} /v3/kv/range`]);
  });
});

describe('EtcdHttpClient when etcd dies', () => {
  let etcd: EtcdProcess;
  let client: EtcdHttpClient;
  before(async () => {
    etcd = await startEtcd();
    client = new EtcdHttpClient({ endpoints: [etcd.clientEndpoint] });
  });
  after(async () => {
    client?.close();
    await etcd?.dispose();
  });

  test('a watch throws a retryable StoreError; a new watch from the last revision + 1 sees later events', async () => {
    const first = await client.put('/dies/a', '1');
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    let last = 0;
    const it = client.watchPrefix('/dies/', first, { signal: ac.signal })[Symbol.asyncIterator]();
    const b = await it.next();
    assert.equal(b.done, false);
    if (!b.done) last = b.value.revision;
    assert.equal(last, first);
    await etcd.kill();
    await assert.rejects(it.next(), (err: unknown) => err instanceof StoreError && err.retryable && err.code === 'ERR_ETCD_UNAVAILABLE');
    await etcd.restart();
    await client.put('/dies/b', '2');
    const again = await collect(client, '/dies/', last + 1, (n) => n >= 1);
    clearTimeout(timer);
    assert.deepEqual(again.flatMap((x) => x.events.map((e) => e.kv.key)), ['/dies/b']);
  });
});
