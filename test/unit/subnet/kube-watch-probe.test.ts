/**
 * The node watch's silence deadline: after a silence the watch is renewed (a new watch from the
 * last resourceVersion seen, a bookmark's included); a renewal without an answer abandons the
 * watch, which is re-opened from that version; a server that answers gets the silent watch
 * renewed, never abandoned. With a fake KubeApi.
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
  constructor(private readonly answers: boolean) {}

  listNodes(): Promise<NodeListResult> {
    return Promise.resolve({ resourceVersion: '7', count: 0 });
  }

  /** Sends one bookmark at resourceVersion 9 on the first watch, then nothing until aborted. */
  watchNodes(opts: { resourceVersion: string; signal: AbortSignal; onOpen?: () => void }, onEvent: (e: WatchEvent) => void): Promise<void> {
    this.watches.push(opts.resourceVersion);
    // A server that answers sends the head at once; one that does not, never.
    if (this.answers || this.watches.length === 1) setTimeout(() => opts.onOpen?.(), 1);
    if (this.watches.length === 1) setTimeout(() => onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }), 10);
    return new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason as Error), { once: true }));
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
  it('abandons a watch whose renewal gets no answer and re-opens it from the last resourceVersion', async () => {
    const api = new QuietApi(false);
    const inf = informer(api);
    try {
      inf.start();
      await poll(() => api.watches.length === 1, { what: 'the first watch', timeoutMs: 2000, intervalMs: 5 });
      const t0 = Date.now();
      await poll(() => inf.stats.abandoned === 1 && api.watches.length >= 3, { what: 'the watch re-opened', timeoutMs: 3000, intervalMs: 5 });
      const took = Date.now() - t0;
      assert.deepEqual(api.watches.slice(0, 3), ['7', '9', '9'], 'renewed, then re-opened, after the bookmark; no re-list');
      assert.equal(inf.stats.lists, 1);
      assert.ok(inf.stats.renewals >= 1);
      assert.ok(took < 100 + 150 + 600, `re-opened ${took} ms after the watch opened (renewal after 100 ms, deadline 150 ms)`);
    } finally {
      inf.stop();
    }
  });

  it('renews a silent watch while the server answers, never abandons it', async () => {
    const api = new QuietApi(true);
    const inf = informer(api);
    try {
      inf.start();
      await poll(() => inf.stats.renewals >= 4, { what: 'four renewals', timeoutMs: 3000, intervalMs: 5 });
      assert.equal(inf.stats.abandoned, 0);
      assert.equal(inf.stats.watches, 1, 'one watch, renewed in place');
      assert.deepEqual(new Set(api.watches.slice(1)), new Set(['9']), 'each renewal from the last version');
    } finally {
      inf.stop();
    }
  });
});
