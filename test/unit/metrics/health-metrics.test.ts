/** /metrics on the health server, over HTTP on loopback. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startHealthServer } from '../../../src/health/health-server.js';
import { nullLogger } from '../../../src/log/logger.js';
import { createPromMetrics } from '../../../src/metrics/prom-metrics.js';

const state = { ready: () => true, reason: () => 'ready' };

describe('health server /metrics', () => {
  it('serves the registry in the Prometheus text format, and 404 without metrics', async () => {
    const metrics = createPromMetrics({ version: '9.9.9', nodeVersion: process.version });
    metrics.remoteLeases(4);
    const logger = nullLogger();
    const with_ = await startHealthServer({ ip: '127.0.0.1', port: 0, state, logger, metrics });
    const without = await startHealthServer({ ip: '127.0.0.1', port: 0, state, logger });
    try {
      const url = (s: typeof with_) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`;
      const res = await fetch(url(with_));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(text, /^flannel_remote_leases 4$/m);
      assert.match(text, /^flannel_build_info\{version="9\.9\.9",commit="unknown",node_version="v[\d.]+"\} 1$/m);
      assert.equal((await fetch(url(without))).status, 404);
    } finally {
      await Promise.all([with_, without].map((s) => new Promise((r) => s.close(r))));
    }
  });
});
