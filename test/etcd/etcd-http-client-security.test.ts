/**
 * EtcdHttpClient with TLS (client certificates), username/password auth, and timeouts.
 * Run: npx tsc -p . && node --test dist/test/etcd/
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StoreError, UsageError } from '../../src/errors.js';
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import { freePort, startEtcd, type EtcdProcess } from '../support/etcd-process.js';
import { makeTestPki, type TestPki } from '../support/test-pki.js';
import { enableAuth, rawPost } from './etcd-raw.js';

async function firstEvent(client: EtcdHttpClient, prefix: string, from: number): Promise<string | undefined> {
  for await (const b of client.watchPrefix(prefix, from, { signal: AbortSignal.timeout(5000) })) return b.events[0]?.kv.value;
  return undefined;
}

describe('EtcdHttpClient over TLS with client certificates', () => {
  let dir: string;
  let pki: TestPki;
  let etcd: EtcdProcess;
  const clients: EtcdHttpClient[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-pki-'));
    pki = await makeTestPki(dir);
    etcd = await startEtcd({
      clientUrls: [`https://127.0.0.1:${await freePort()}`],
      extraArgs: [`--cert-file=${pki.serverCertFile}`, `--key-file=${pki.serverKeyFile}`, `--trusted-ca-file=${pki.caFile}`, '--client-cert-auth'],
      tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await etcd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('put, get and watch with CA and client certificate', async () => {
    const c = new EtcdHttpClient({ endpoints: [etcd.clientEndpoint], caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });
    clients.push(c);
    const rev = await c.put('/tls', 'secure');
    assert.equal((await c.get('/tls'))?.value, 'secure');
    assert.equal(await firstEvent(c, '/tls', rev), 'secure');
  });

  test('without a client certificate etcd refuses the handshake (ERR_ETCD_AUTH naming the endpoint)', async () => {
    const c = new EtcdHttpClient({ endpoints: [etcd.clientEndpoint], caFile: pki.caFile });
    clients.push(c);
    await assert.rejects(c.get('/tls'), (err: unknown) => err instanceof StoreError && err.code === 'ERR_ETCD_AUTH' && err.endpoint === etcd.clientEndpoint);
  });

  test('without the CA the server certificate is refused (ERR_ETCD_AUTH, not retryable)', async () => {
    const c = new EtcdHttpClient({ endpoints: [etcd.clientEndpoint], certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });
    clients.push(c);
    await assert.rejects(c.get('/tls'), { code: 'ERR_ETCD_AUTH', retryable: false });
  });

  test('an unreadable TLS file is reported at construction, naming the file', () => {
    const missing = join(dir, 'nope.pem');
    assert.throws(() => new EtcdHttpClient({ endpoints: [etcd.clientEndpoint], caFile: missing }), (err: unknown) => {
      return err instanceof UsageError && err.flag === 'etcd-cafile' && err.message.includes(missing);
    });
  });
});

describe('EtcdHttpClient with username/password', () => {
  let etcd: EtcdProcess;
  const clients: EtcdHttpClient[] = [];
  const authCalls: string[] = [];
  const client = (password: string) => {
    const c = new EtcdHttpClient({
      endpoints: [etcd.clientEndpoint],
      username: 'root',
      password,
      onRequest: (r) => void (r.path === '/v3/auth/authenticate' && authCalls.push(r.path)),
    });
    clients.push(c);
    return c;
  };
  /** etcd drops every token of a user whose password changes (even to the same value). */
  const invalidateTokens = async () => {
    const auth = await rawPost(etcd.clientEndpoint, '/v3/auth/authenticate', { name: 'root', password: 'pw' });
    const r = await rawPost(etcd.clientEndpoint, '/v3/auth/user/changepw', { name: 'root', password: 'pw' }, auth.body['token'] as string);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    etcd = await startEtcd();
    await enableAuth(etcd.clientEndpoint, 'pw');
  });
  after(async () => {
    for (const c of clients) c.close();
    await etcd?.dispose();
  });

  test('authenticates once and sends the token', async () => {
    const c = client('pw');
    authCalls.length = 0;
    const rev = await c.put('/auth/a', '1');
    assert.equal((await c.get('/auth/a'))?.value, '1');
    assert.equal(await firstEvent(c, '/auth/', rev), '1');
    assert.equal(authCalls.length, 1);
  });

  test('re-authenticates once when the token is rejected (unary and watch)', async () => {
    const c = client('pw');
    const rev = await c.put('/auth/b', '2');
    authCalls.length = 0;
    await invalidateTokens();
    assert.equal(await firstEvent(c, '/auth/b', rev), '2');
    assert.equal(authCalls.length, 1);
    await invalidateTokens();
    assert.equal((await c.get('/auth/b'))?.value, '2');
    assert.equal(authCalls.length, 2);
  });

  test('a wrong password gives ERR_ETCD_AUTH, not retryable', async () => {
    await assert.rejects(client('wrong').get('/auth/a'), (err: unknown) => {
      return err instanceof StoreError && err.code === 'ERR_ETCD_AUTH' && !err.retryable && err.endpoint === etcd.clientEndpoint;
    });
  });

  test('without credentials etcd refuses the request (ERR_ETCD_REQUEST with its message)', async () => {
    const c = new EtcdHttpClient({ endpoints: [etcd.clientEndpoint] });
    clients.push(c);
    await assert.rejects(c.get('/auth/a'), (err: unknown) => err instanceof StoreError && err.code === 'ERR_ETCD_REQUEST' && err.message.includes('user name is empty'));
  });
});

describe('EtcdHttpClient timeouts', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let endpoint: string;
  before(async () => {
    server = createServer((s) => void sockets.push(s)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    assert.ok(addr !== null && typeof addr === 'object');
    endpoint = `http://127.0.0.1:${addr.port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a silent server gives ERR_ETCD_UNAVAILABLE after requestTimeoutMs', async () => {
    const c = new EtcdHttpClient({ endpoints: [endpoint], requestTimeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(c.get('/x'), { code: 'ERR_ETCD_UNAVAILABLE', retryable: true, endpoint });
    assert.ok(Date.now() - t0 < 2000);
    c.close();
  });

  test('an abort signal cancels a pending call', async () => {
    const c = new EtcdHttpClient({ endpoints: [endpoint] });
    const ac = new AbortController();
    const p = c.get('/x', { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    c.close();
  });
});
