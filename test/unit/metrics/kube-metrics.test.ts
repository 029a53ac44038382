/** flannel_store_* for kube: requests and errors counted in KubeHttp, the first answer after failures as a reconnect. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { StoreMetrics } from '../../../src/metrics/agent-metrics.js';
import { KubeHttp } from '../../../src/subnet/kube/kube-http.js';

describe('kube store metrics', () => {
  it('counts 2xx as ok, 4xx and unreachable as errors, and the recovery as one reconnect', async () => {
    const calls: string[] = [];
    const m: StoreMetrics = {
      storeRequest: (store, result) => calls.push(`request ${store} ${result}`),
      storeReconnect: (store) => calls.push(`reconnect ${store}`),
      storeWatchResume: (store) => calls.push(`resume ${store}`),
    };
    const listen = (s: Server, port: number) => new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    let server = createServer((req, res) => res.writeHead(req.url === '/missing' ? 404 : 200).end('{}'));
    await listen(server, 0);
    const port = (server.address() as AddressInfo).port;
    const conn = { server: `http://127.0.0.1:${port}`, tls: { insecure: false }, auth: { kind: 'none' as const } };
    const creds = { get: () => Promise.resolve({}), rejected: () => false };
    const http = new KubeHttp(conn, creds, m);
    const get = async (path: string) => (await http.open({ method: 'GET', path, signal: AbortSignal.timeout(5000) })).resume();
    try {
      await get('/api');
      await get('/missing');
      http.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await assert.rejects(get('/api'));
      server = createServer((_req, res) => res.writeHead(200).end('{}'));
      await listen(server, port);
      await get('/api');
      await get('/api');
      assert.deepEqual(calls, ['request kube ok', 'request kube error', 'request kube error', 'reconnect kube', 'request kube ok', 'request kube ok']);
    } finally {
      http.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
