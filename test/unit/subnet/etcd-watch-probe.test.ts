/**
 * The etcd client's answers to a store that goes quiet: request deadlines with failover, the
 * watch's liveness probe, and the subnet manager resuming its watch from the last revision on
 * the next endpoint. Against FakeEtcdGateway (HTTP/1.1 on 127.0.0.1), with short timeouts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../../src/errors.js';
import type { Logger } from '../../../src/log/logger.js';
import { EtcdHttpClient } from '../../../src/subnet/etcd/etcd-http-client.js';
import { EtcdSubnetManager } from '../../../src/subnet/etcd/etcd-subnet-manager.js';
import type { LeaseWatchResult } from '../../../src/subnet/subnet-manager.js';
import { poll } from '../../support/poll.js';
import { FakeEtcdGateway } from './fake-etcd-gateway.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const silent = { info: () => {} };
  return { warnings, info: () => {}, warn: (m: string) => warnings.push(m), error: () => {}, v: () => silent } as unknown as Logger & { warnings: string[] };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A watch of /p/ from revision 6, consumed in the background: how it ended, and when. */
interface WatchRun {
  done: Promise<void>;
  ended: 'still open' | 'returned' | 'failed';
  failure: unknown;
  endedAt: number;
}

function drainWatch(kv: EtcdHttpClient, signal: AbortSignal): WatchRun {
  const run: WatchRun = { done: Promise.resolve(), ended: 'still open', failure: undefined, endedAt: 0 };
  run.done = (async () => {
    for await (const _ of kv.watchPrefix('/p/', 6, { signal })) void _;
  })().then(
    () => {
      run.ended = 'returned';
      run.endedAt = Date.now();
    },
    (err: unknown) => {
      run.ended = 'failed';
      run.failure = err;
      run.endedAt = Date.now();
    },
  );
  return run;
}

describe('etcd client when an endpoint goes quiet', () => {
  let a: FakeEtcdGateway;
  let b: FakeEtcdGateway;

  before(async () => {
    a = await new FakeEtcdGateway().start();
    b = await new FakeEtcdGateway().start();
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  function client(log?: Logger) {
    a.silent = false;
    b.silent = false;
    a.requests.length = 0;
    b.requests.length = 0;
    return new EtcdHttpClient({ endpoints: [a.url, b.url], requestTimeoutMs: 400, watchProbeIntervalMs: 100, watchProbeTimeoutMs: 200, logger: log });
  }

  it('fails a unary call over to the next endpoint once its deadline passes, and says so', async () => {
    const log = recordingLogger();
    const kv = client(log);
    a.silent = true;
    const t0 = Date.now();
    await kv.get('/k', { signal: AbortSignal.timeout(5000) });
    const took = Date.now() - t0;
    kv.close();
    assert.ok(took >= 400 && took < 2000, `answered after ${took} ms: the 400 ms deadline, then the other endpoint`);
    assert.equal(b.requests.filter((r) => r.path === '/v3/kv/range').length, 1);
    assert.match(log.warnings.join('\n'), new RegExp(`etcd endpoint ${a.url} failed \\(.*no reply within 400 ms\\); switched to ${b.url}`));
  });

  it('keeps a watch open while its endpoint answers the probes (no false alarm)', async () => {
    const kv = client();
    const ac = new AbortController();
    const watch = drainWatch(kv, ac.signal);
    await poll(() => a.requests.filter((r) => r.path === '/v3/kv/range').length >= 5, { what: 'five probes', timeoutMs: 3000, intervalMs: 20 });
    const probe = a.requests.find((r) => r.path === '/v3/kv/range');
    assert.deepEqual(probe?.body, { key: b64('/p/'), keys_only: true }, 'the probe reads one key, the watched prefix');
    assert.equal(watch.ended, 'still open');
    ac.abort();
    await watch.done;
    kv.close();
    assert.equal(watch.ended, 'returned', String(watch.failure));
  });

  it('sends no probe while the stream itself keeps delivering (a busy watch costs the store nothing more)', async () => {
    const kv = client();
    const ac = new AbortController();
    const watch = drainWatch(kv, ac.signal);
    await poll(() => a.watchRequests().length === 1, { what: 'the watch on a', timeoutMs: 2000, intervalMs: 10 });
    const probes = () => a.requests.filter((r) => r.path === '/v3/kv/range').length;
    const before = probes();
    // 20 events 30 ms apart: 600 ms, six probe intervals of 100 ms.
    for (let i = 0; i < 20; i++) {
      a.push({ header: { revision: String(7 + i) }, events: [{ type: 'PUT', kv: { key: b64(`/p/${i}`), value: b64('v'), mod_revision: String(7 + i) } }] });
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(probes() - before, 0, 'no probe while the stream spoke within every interval');
    // Quiet again: the probes resume.
    await poll(() => probes() - before >= 2, { what: 'probes once the stream is quiet', timeoutMs: 2000, intervalMs: 10 });
    ac.abort();
    await watch.done;
    assert.equal(watch.ended, 'returned', String(watch.failure));
    kv.close();
  });

  it('abandons a watch whose endpoint stops answering within interval + probe deadline, and starts the next calls elsewhere', async () => {
    const log = recordingLogger();
    const kv = client(log);
    const watch = drainWatch(kv, new AbortController().signal);
    await poll(() => a.watchRequests().length === 1, { what: 'the watch on a', timeoutMs: 2000, intervalMs: 10 });
    const silentAt = Date.now();
    a.silent = true;
    await poll(() => watch.endedAt > 0, { what: 'the watch to be abandoned', timeoutMs: 3000, intervalMs: 10 });
    await watch.done;
    const { failure } = watch;
    const took = watch.endedAt - silentAt;
    assert.ok(took < 100 + 200 + 400, `abandoned ${took} ms after the endpoint went quiet (interval 100 + deadline 200)`);
    assert.ok(failure instanceof StoreError && failure.code === 'ERR_ETCD_UNAVAILABLE' && failure.retryable, String(failure));
    assert.match(failure.message, /watch abandoned: its endpoint did not answer a probe/);
    assert.match(log.warnings.join('\n'), new RegExp(`etcd endpoint ${a.url} is not answering .*switching to ${b.url}`));
    // The next call goes straight to b: no request deadline spent on a.
    const t0 = Date.now();
    await kv.get('/k', { signal: AbortSignal.timeout(5000) });
    assert.ok(Date.now() - t0 < 300, `answered in ${Date.now() - t0} ms`);
    assert.equal(b.requests.length, 1);
    kv.close();
  });

  it('learns the cadence of progress notifications and abandons a stream silent for three of them, though its endpoint answers', async () => {
    const kv = client();
    const watch = drainWatch(kv, new AbortController().signal);
    await poll(() => a.watchRequests().length === 1, { what: 'the watch on a', timeoutMs: 2000, intervalMs: 10 });
    // Three progress notifications 150 ms apart, then the stream stalls (probes still answered).
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 150));
      a.push({ header: { revision: '6' }, watch_id: '0' });
    }
    const lastAt = Date.now();
    await poll(() => watch.endedAt > 0, { what: 'the stalled stream to be abandoned', timeoutMs: 3000, intervalMs: 10 });
    await watch.done;
    const { failure } = watch;
    const took = watch.endedAt - lastAt;
    assert.ok(failure instanceof StoreError && /the stream went silent: no progress notification/.test(failure.message), String(failure));
    // 3 x the learned cadence (>= 150 ms), but at least the probe deadline (200 ms).
    assert.ok(took >= 350 && took < 1500, `abandoned ${took} ms after the last notification`);
    assert.ok(a.requests.filter((r) => r.path === '/v3/kv/range').length >= 3, 'the endpoint answered probes meanwhile');
    kv.close();
  });

  it('resumes the lease watch on the next endpoint from the revision after the last event seen', async () => {
    const kv = client();
    const sm = new EtcdSubnetManager({ kv, prefix: '/coreos.com/network', leaseTtlSeconds: 60, logger: recordingLogger(), knownBackends: ['alloc'] });
    const ac = new AbortController();
    const results: LeaseWatchResult[] = [];
    const run = (async () => {
      for await (const r of sm.watchLeases(ac.signal)) results.push(r);
    })();
    await poll(() => a.watchRequests().length === 1, { what: 'the lease watch on a', timeoutMs: 2000, intervalMs: 10 });
    assert.equal((a.watchRequests()[0]!.body['create_request'] as { start_revision?: string }).start_revision, '6');
    const kvWire = {
      key: b64('/coreos.com/network/subnets/10.5.1.0-24'),
      value: b64('{"PublicIP":"192.168.77.11","PublicIPv6":null}'),
      create_revision: '9',
      mod_revision: '9',
      version: '1',
      lease: '0',
    };
    a.push({ header: { revision: '9' }, events: [{ kv: kvWire }] });
    await poll(() => results.some((r) => r.kind === 'events'), { what: 'the event', timeoutMs: 2000, intervalMs: 10 });
    a.silent = true;
    await poll(() => b.watchRequests().length === 1, { what: 'the lease watch on b', timeoutMs: 3000, intervalMs: 10 });
    const resumed = b.watchRequests()[0]!.body['create_request'] as { start_revision?: string };
    assert.equal(resumed.start_revision, '10', 'resumed after revision 9, with no second listing');
    assert.equal(b.requests.filter((r) => r.path === '/v3/kv/range' && r.body['range_end'] !== undefined).length, 0);
    ac.abort();
    await run;
    sm.close();
  });
});
