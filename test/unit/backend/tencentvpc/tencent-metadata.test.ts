import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CloudApiError } from '../../../../src/backend/cloud/cloud-errors.js';
import { discoverInstance } from '../../../../src/backend/tencentvpc/tencent-metadata.js';

/** A metadata service answering `answers[path]` (404 otherwise), as Tencent's does. */
function metadataServer(answers: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const body = answers[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(body ?? 'Not Found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('tencent-vpc metadata discovery', () => {
  let good: { server: Server; url: string };
  let badMac: { server: Server; url: string };
  before(async () => {
    good = await metadataServer({
      '/latest/meta-data/placement/region': 'ap-shanghai',
      '/latest/meta-data/mac': '52:54:00:aa:bb:cc',
      '/latest/meta-data/network/interfaces/macs/52:54:00:aa:bb:cc/vpc-id': 'vpc-2at5y1pn',
    });
    badMac = await metadataServer({ '/latest/meta-data/placement/region': 'ap-shanghai', '/latest/meta-data/mac': '<html>' });
  });
  after(() => {
    good.server.close();
    badMac.server.close();
  });

  it('reads region, MAC and VPC by flannel\'s paths', async () => {
    assert.deepEqual(await discoverInstance({ baseUrl: good.url }, AbortSignal.timeout(5000)), { region: 'ap-shanghai', mac: '52:54:00:aa:bb:cc', vpcId: 'vpc-2at5y1pn' });
  });

  it('an unusable answer or a 404 is an error naming the URL, not retried; no answer is retried', async () => {
    await assert.rejects(discoverInstance({ baseUrl: badMac.url }, AbortSignal.timeout(5000)), (err: unknown) => {
      assert.ok(err instanceof CloudApiError && !err.retryable);
      assert.match(err.message, /meta-data\/mac: not a MAC address/);
      return true;
    });
    const { server, url } = await metadataServer({ '/latest/meta-data/placement/region': 'ap-shanghai', '/latest/meta-data/mac': '52:54:00:aa:bb:cc' });
    try {
      await assert.rejects(discoverInstance({ baseUrl: url }, AbortSignal.timeout(5000)), (err: unknown) => {
        assert.ok(err instanceof CloudApiError && !err.retryable);
        assert.match(err.message, /macs\/52:54:00:aa:bb:cc\/vpc-id: HTTP 404/);
        return true;
      });
    } finally {
      server.close();
    }
    const closed = await metadataServer({});
    await new Promise((r) => closed.server.close(r));
    await assert.rejects(discoverInstance({ baseUrl: closed.url }, AbortSignal.timeout(5000)), (err: unknown) => {
      assert.ok(err instanceof CloudApiError && err.retryable, String(err));
      assert.match(err.message, /placement\/region: no answer: .*ECONNREFUSED/);
      return true;
    });
  });
});
