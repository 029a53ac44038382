/**
 * The node watch's silence deadline: after a silence the API server is probed; a probe without
 * an answer abandons the watch, which is re-opened from the last resourceVersion seen (a
 * bookmark's included); a server that answers keeps the watch open. With a fake KubeApi.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nullLogger } from '../../../src/log/logger.js';
import type { KubeApi, NodeListResult, WatchEvent } from '../../../src/subnet/kube/kube-api.js';
import { NodeInformer } from '../../../src/subnet/kube/node-informer.js';
import { poll } from '../../support/poll.js';

class QuietApi implements KubeApi {
  readonly server = 'https://fake:6443';
  readonly watches: string[] = [];
  probes = 0;
  constructor(private readonly answers: boolean) {}

  listNodes(): Promise<NodeListResult> {
    return Promise.resolve({ resourceVersion: '7', count: 0 });
  }

  /** Sends one bookmark at resourceVersion 9 on the first watch, then nothing until aborted. */
  watchNodes(opts: { resourceVersion: string; signal: AbortSignal }, onEvent: (e: WatchEvent) => void): Promise<void> {
    this.watches.push(opts.resourceVersion);
    if (this.watches.length === 1) setTimeout(() => onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }), 10);
    return new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason as Error), { once: true }));
  }

  probe(signal: AbortSignal): Promise<void> {
    this.probes++;
    if (this.answers) return Promise.resolve();
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }

  patchNodeStatus(): Promise<void> {
    return Promise.resolve();
  }

  readPodNodeName(): Promise<string> {
    return Promise.resolve('');
  }

  close(): void {}
}

function informer(api: KubeApi): NodeInformer {
  return new NodeInformer({ api, annotationKeys: [], logger: nullLogger(), watchProbeAfterMs: 100, watchProbeTimeoutMs: 150, random: () => 0 });
}

describe('node watch silence deadline', () => {
  it('abandons a watch whose server does not answer the probe and re-opens it from the last resourceVersion', async () => {
    const api = new QuietApi(false);
    const inf = informer(api);
    inf.start();
    await poll(() => api.watches.length === 1, { what: 'the first watch', timeoutMs: 2000, intervalMs: 5 });
    const t0 = Date.now();
    await poll(() => api.watches.length === 2, { what: 'the watch re-opened', timeoutMs: 3000, intervalMs: 5 });
    const took = Date.now() - t0;
    inf.stop();
    assert.deepEqual(api.watches, ['7', '9'], 'resumed after the bookmark, no re-list');
    assert.equal(inf.stats.lists, 1);
    assert.ok(api.probes >= 1);
    assert.ok(took < 100 + 150 + 600, `re-opened ${took} ms after the watch opened (probe after 100 ms, deadline 150 ms)`);
  });

  it('keeps a silent watch open while the server answers the probes', async () => {
    const api = new QuietApi(true);
    const inf = informer(api);
    inf.start();
    await poll(() => api.probes >= 4, { what: 'four probes', timeoutMs: 3000, intervalMs: 5 });
    inf.stop();
    assert.deepEqual(api.watches, ['7']);
  });
});
