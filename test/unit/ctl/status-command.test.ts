/** flannelctl status against a real health server (loopback, port 0) with prom-client metrics and /status. */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { agentUrl } from '../../../src/ctl/status-command.js';
import { parsePromText } from '../../../src/ctl/prom-text.js';
import { startHealthServer } from '../../../src/health/health-server.js';
import { nullLogger } from '../../../src/log/logger.js';
import { createPromMetrics } from '../../../src/metrics/prom-metrics.js';
import { runCtl } from './ctl-run.js';

const T0 = Date.parse('2026-12-03T10:00:00Z');

async function withAgent(ready: boolean, fn: (port: number, metrics: ReturnType<typeof createPromMetrics>) => Promise<void>, opts: { metrics?: boolean } = {}): Promise<void> {
  let t = T0;
  const metrics = createPromMetrics({ version: '9.9.9', nodeVersion: process.version }, () => t);
  metrics.leaseHeld({ subnets: ['10.5.3.0/24'], expiration: new Date(T0 + 3600_000) });
  metrics.remoteLeases(2);
  metrics.peersProgrammed('vxlan', 'ipv4', 2);
  metrics.reconcileRun(0.004, 0);
  t = T0 + 1000;
  metrics.reconcileRun(0.002, 3);
  metrics.ruleResync(0);
  metrics.ruleResync(1);
  const state = { ready: () => ready, reason: () => 'waiting for the network config from etcd' };
  const server: Server = await startHealthServer({ ip: '127.0.0.1', port: 0, state, logger: nullLogger(), metrics: opts.metrics === false ? undefined : metrics });
  try {
    await fn((server.address() as AddressInfo).port, metrics);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('health port /status', () => {
  it('serves readiness, lease, backend, peers, last reconcile and rule check as JSON', async () => {
    await withAgent(true, async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(await res.json(), {
        ready: true,
        reason: null,
        lease: { subnets: ['10.5.3.0/24'], expiresAt: '2026-12-03T11:00:00.000Z' },
        backend: 'vxlan',
        remoteLeases: 2,
        peersProgrammed: { ipv4: 2 },
        reconcile: { runs: 2, lastAt: '2026-12-03T10:00:01.000Z', lastDurationSeconds: 0.002, lastRepairs: 3, repairsTotal: 3 },
        rules: { resyncs: 2, lastCheckAt: '2026-12-03T10:00:01.000Z', lastRestored: 1, restorationsTotal: 1 },
      });
    });
  });
});

describe('flannelctl status', () => {
  it('table: alive and ready, lease, backend, peers, reconcile and rules; exit 0', async () => {
    await withAgent(true, async (port) => {
      const r = await runCtl(['status', '-healthz-port', String(port), '-healthz-ip', '127.0.0.1'], { now: T0 + 61_000 });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^agent +http://127\\.0\\.0\\.1:${port}: alive, ready$`, 'm'));
      assert.match(r.out, /^version +9\.9\.9$/m);
      assert.match(r.out, /^lease +10\.5\.3\.0\/24, expires in 58m59s$/m);
      assert.match(r.out, /^backend +vxlan$/m);
      assert.match(r.out, /^peers +programmed: ipv4 2; remote leases: 2$/m);
      assert.match(r.out, /^reconcile +2 runs, last 2026-12-03T10:00:01.000Z \(1m ago\) took 2.0 ms, 3 repairs; repairs in all: 3$/m);
      assert.match(r.out, /^rules +2 checks, last 2026-12-03T10:00:01.000Z \(1m ago\), 1 restored; restored in all: 1$/m);
    });
  });

  it('not ready: says why, exit 1; json for scripts (FLANNELD_HEALTHZ_PORT as flanneld takes it)', async () => {
    await withAgent(false, async (port) => {
      const r = await runCtl(['status', '-o', 'json'], { env: { FLANNELD_HEALTHZ_PORT: String(port), FLANNELD_HEALTHZ_IP: '0.0.0.0' } });
      assert.equal(r.code, 1);
      const j = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(j['alive'], true);
      assert.equal(j['ready'], false);
      assert.equal(j['reason'], 'waiting for the network config from etcd');
      assert.equal(j['backend'], 'vxlan');
    });
  });

  it('an agent without /status (older): what /metrics says', async () => {
    await withAgent(true, async (port) => {
      const r = await runCtl(['status', '-healthz-port', String(port), '-o', 'json']);
      const j = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(j['note'], 'the agent serves neither /status nor /metrics');
    }, { metrics: false });
  });

  it('no agent: exit 1 saying so; no port: exit 2 saying which flag', async () => {
    let closed = 0;
    await withAgent(true, (port) => Promise.resolve(void (closed = port)));
    const r = await runCtl(['status', '-healthz-port', String(closed), '-healthz-ip', '127.0.0.1']);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`^agent +http://127\\.0\\.0\\.1:${closed}: not answering \\(http://127\\.0\\.0\\.1:${closed}/healthz: .*ECONNREFUSED`, 'm'));
    const n = await runCtl(['status']);
    assert.equal(n.code, 2);
    assert.match(n.err, /no health port: give the agent's -healthz-port \(or FLANNELD_HEALTHZ_PORT\)/);
  });

  it('agentUrl reaches "all addresses" on loopback and brackets IPv6', () => {
    assert.equal(agentUrl('0.0.0.0', 9100), 'http://127.0.0.1:9100');
    assert.equal(agentUrl('::', 9100), 'http://[::1]:9100');
    assert.equal(agentUrl('10.0.0.5', 9100), 'http://10.0.0.5:9100');
  });

  it('parsePromText reads samples with labels', () => {
    const s = parsePromText('# HELP x\nflannel_peers_programmed{backend="vxlan",family="ipv4"} 3\nflannel_remote_leases 2\nbad line here\n');
    assert.deepEqual(s, [
      { name: 'flannel_peers_programmed', labels: { backend: 'vxlan', family: 'ipv4' }, value: 3 },
      { name: 'flannel_remote_leases', labels: {}, value: 2 },
    ]);
  });
});
