/** flannel_store_* for etcd: requests and errors counted at the transport, failover counted as a reconnect. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { StoreMetrics } from '../../../src/metrics/agent-metrics.js';
import { EtcdHttpClient } from '../../../src/subnet/etcd/etcd-http-client.js';

function recorder() {
  const calls: string[] = [];
  const m: StoreMetrics = {
    storeRequest: (store, result) => calls.push(`request ${store} ${result}`),
    storeReconnect: (store) => calls.push(`reconnect ${store}`),
    storeWatchResume: (store) => calls.push(`resume ${store}`),
  };
  return { m, calls };
}

describe('etcd store metrics', () => {
  it('counts a request ok, a failover to the live endpoint as a reconnect, and a failed request as an error', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"header":{"revision":"7"}}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const live = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dead = 'http://127.0.0.1:1';
    try {
      const ok = recorder();
      const c1 = new EtcdHttpClient({ endpoints: [live], metrics: ok.m });
      assert.equal(await c1.get('/k'), undefined);
      c1.close();
      assert.deepEqual(ok.calls, ['request etcd ok']);

      const failover = recorder();
      const c2 = new EtcdHttpClient({ endpoints: [dead, live], metrics: failover.m });
      await c2.get('/k');
      await c2.get('/k'); // stays on the live endpoint: no second reconnect
      c2.close();
      assert.deepEqual(failover.calls, ['reconnect etcd', 'request etcd ok', 'request etcd ok']);

      const down = recorder();
      const c3 = new EtcdHttpClient({ endpoints: [dead], metrics: down.m, requestTimeoutMs: 2000 });
      await assert.rejects(c3.get('/k'));
      c3.close();
      assert.deepEqual(down.calls, ['request etcd error']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
