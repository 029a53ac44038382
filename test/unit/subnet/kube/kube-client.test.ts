/**
 * flanneld's Kubernetes client on the wire, against the stand-in API server: each way to
 * authenticate and verify the server, the streamed node list and the watch, patches, errors
 * translated into StoreError codes, kept-alive connections.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../../../src/errors.js';
import type { ListedNode, WatchEvent } from '../../../../src/subnet/kube/kube-api.js';
import { HttpKubeApi, createKubeApi } from '../../../../src/subnet/kube/kube-client.js';
import { resolveKubeConnection } from '../../../../src/subnet/kube/kube-connection.js';
import { TOKEN_FILE_REFRESH_MS, credentialSource } from '../../../../src/subnet/kube/kube-credentials.js';
import { FakeKubeApiServer } from '../../../fakes/kube-api-server/kube-api-server.js';
import { realisticNode } from '../../../fakes/kube-api-server/realistic-node.js';
import { makeTestPki, type TestPki } from '../../../support/test-pki.js';
import { poll } from '../../../support/poll.js';

const T = () => AbortSignal.timeout(10_000);

function isStoreError(code: string, re?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof StoreError, String(err));
    assert.equal(err.code, code, err.message);
    if (re) assert.match(err.message, re);
    return true;
  };
}

describe('kube client: connecting and authenticating (HTTPS)', () => {
  let dir: string;
  let pki: TestPki;
  let server: FakeKubeApiServer;
  const tokens: Record<string, string> = { 'tok-a': 'alice' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-client-'));
    pki = await makeTestPki(dir);
    server = new FakeKubeApiServer({
      tokens,
      basicUsers: { 'admin:s3cret': 'admin' },
      tls: { cert: await readFile(pki.serverCertFile, 'utf8'), key: await readFile(pki.serverKeyFile, 'utf8') },
      clientCa: await readFile(pki.caFile, 'utf8'),
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    server.store.pods.set('ns/p', { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' } });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): Promise<string> {
    const file = join(dir, `kubeconfig-${Math.random().toString(16).slice(2)}`);
    await writeFile(
      file,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: server.url, ...cluster } }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    return file;
  }

  /** The user the server saw for one GET of the pod through this kubeconfig. */
  async function userOf(cluster: Record<string, unknown>, user: Record<string, unknown>): Promise<string | undefined> {
    const api = await createKubeApi({ kubeconfigFile: await kubeconfig(cluster, user), requestTimeoutMs: 5000 });
    try {
      assert.equal(await api.readPodNodeName('ns', 'p', T()), 'n1');
      return server.requests.at(-1)?.user;
    } finally {
      api.close();
    }
  }

  it('bearer token, client certificate (files), basic auth, each verified against the CA', async () => {
    const ca = { 'certificate-authority': pki.caFile };
    assert.equal(await userOf(ca, { token: 'tok-a' }), 'alice');
    assert.equal(await userOf(ca, { 'client-certificate': pki.clientCertFile, 'client-key': pki.clientKeyFile }), 'root');
    const data = { 'client-certificate-data': (await readFile(pki.clientCertFile)).toString('base64'), 'client-key-data': (await readFile(pki.clientKeyFile)).toString('base64') };
    assert.equal(await userOf({ 'certificate-authority-data': (await readFile(pki.caFile)).toString('base64') }, data), 'root');
    assert.equal(await userOf(ca, { username: 'admin', password: 's3cret' }), 'admin');
  });

  it('refuses a server it cannot verify unless insecure-skip-tls-verify; checks tls-server-name', async () => {
    await assert.rejects(userOf({}, { token: 'tok-a' }), isStoreError('ERR_KUBE_UNREACHABLE', /get pod ns\/p: .*(self[- ]signed|unable to (get|verify))/i));
    assert.equal(await userOf({ 'insecure-skip-tls-verify': true }, { token: 'tok-a' }), 'alice');
    assert.equal(await userOf({ 'certificate-authority': pki.caFile, 'tls-server-name': 'localhost' }, { token: 'tok-a' }), 'alice');
    await assert.rejects(userOf({ 'certificate-authority': pki.caFile, 'tls-server-name': 'other.example' }, { token: 'tok-a' }), isStoreError('ERR_KUBE_UNREACHABLE', /other\.example/));
  });

  it('a token file is re-read once a minute old, and at once after a 401 (rotated service account tokens)', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'tok-a\n');
    let clock = 0;
    const conn = await resolveKubeConnection({ kubeconfigFile: await kubeconfig({ 'certificate-authority': pki.caFile }, { tokenFile }) });
    const api = new HttpKubeApi(conn, { credentials: credentialSource(conn.auth, { now: () => clock }) });
    try {
      await api.readPodNodeName('ns', 'p', T());
      tokens['tok-b'] = 'bob';
      await writeFile(tokenFile, 'tok-b');
      clock += TOKEN_FILE_REFRESH_MS - 1;
      await api.readPodNodeName('ns', 'p', T());
      assert.equal(server.requests.at(-1)?.user, 'alice', 'still the token read less than a minute ago');
      clock += 1;
      await api.readPodNodeName('ns', 'p', T());
      assert.equal(server.requests.at(-1)?.user, 'bob');
      tokens['tok-c'] = 'carol';
      delete tokens['tok-b'];
      await writeFile(tokenFile, 'tok-c');
      await api.readPodNodeName('ns', 'p', T());
      assert.deepEqual(server.requests.slice(-2).map((r) => [r.status, r.user]), [[401, ''], [200, 'carol']], 'one 401, then the re-read token');
    } finally {
      api.close();
    }
  });

  it('in-cluster: service account token and CA over HTTPS', async () => {
    const sa = join(dir, 'sa');
    await (await import('node:fs/promises')).mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'tok-a');
    await writeFile(join(sa, 'ca.crt'), await readFile(pki.caFile));
    const api = await createKubeApi({ serviceHost: '127.0.0.1', servicePort: new URL(server.url).port, serviceAccountDir: sa });
    try {
      assert.equal(api.server, server.url);
      assert.equal(await api.readPodNodeName('ns', 'p', T()), 'n1');
      assert.equal(server.requests.at(-1)?.user, 'alice');
    } finally {
      api.close();
    }
  });

  it('keeps the connection alive between requests', async () => {
    const api = await createKubeApi({ kubeconfigFile: await kubeconfig({ 'certificate-authority': pki.caFile }, { token: 'tok-a' }) });
    try {
      const before = server.connections;
      for (let i = 0; i < 4; i++) await api.readPodNodeName('ns', 'p', T());
      assert.equal(server.connections - before, 1);
    } finally {
      api.close();
    }
  });
});

describe('kube client: list, watch, patch and errors (HTTP)', () => {
  let server: FakeKubeApiServer;
  let api: HttpKubeApi;
  before(async () => {
    server = new FakeKubeApiServer({ tokens: { t: 'alice' } });
    await server.listen({ host: '127.0.0.1', port: 0 });
    api = new HttpKubeApi({ server: server.url, tls: { insecure: false }, auth: { kind: 'token', token: 't' } }, { requestTimeoutMs: 5000 });
    for (let i = 0; i < 5; i++) {
      server.store.create(realisticNode(i, { name: `n${i}`, podCIDR: `10.0.${i}.0/24`, internalIP: `192.168.0.${i}`, annotations: { 'flannel.alpha.coreos.com/public-ip': `192.168.0.${i}` } }));
    }
  });
  after(async () => {
    api.close();
    await server.close();
  });

  it('lists nodes as they stream, keeping only name, version, annotations and pod CIDRs', async () => {
    const items: ListedNode[] = [];
    const res = await api.listNodes({ resourceVersion: '0', signal: T() }, (n) => items.push(n));
    assert.equal(res.count, 5);
    assert.equal(res.resourceVersion, server.store.resourceVersion);
    assert.equal(server.requests.at(-1)?.url, '/api/v1/nodes?resourceVersion=0');
    const n0 = server.store.get('n0');
    assert.deepEqual(items[0], {
      metadata: { name: 'n0', resourceVersion: n0?.metadata.resourceVersion, annotations: n0?.metadata.annotations },
      spec: { podCIDR: '10.0.0.0/24', podCIDRs: ['10.0.0.0/24'] },
    });
  });

  it('watches from a version with bookmarks and a timeout; ends when the server ends the stream', async () => {
    const rv = server.store.resourceVersion;
    const events: WatchEvent[] = [];
    const ac = new AbortController();
    const watching = api.watchNodes({ resourceVersion: rv, timeoutSeconds: 1, signal: ac.signal }, (e) => events.push(e));
    await poll(() => server.openWatches === 1, { what: 'watch open' });
    assert.match(server.requests.at(-1)?.url ?? '', new RegExp(`^/api/v1/nodes\\?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1$`));
    server.store.update('n1', (n) => (n.metadata.annotations = { ...n.metadata.annotations, x: 'y' }));
    server.store.delete('n2');
    server.sendBookmarks();
    await watching; // the server's timeoutSeconds ends it
    assert.deepEqual(events.map((e) => e.type), ['MODIFIED', 'DELETED', 'BOOKMARK']);
    assert.equal((events[0]?.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations['x'], 'y');
    assert.equal((events[0]?.object as { status?: unknown }).status, undefined, 'status is not kept');
  });

  it('410 Gone: as an ERROR event in the stream, and as an HTTP status', async () => {
    server.compact();
    const events: WatchEvent[] = [];
    await api.watchNodes({ resourceVersion: '1', timeoutSeconds: 30, signal: T() }, (e) => events.push(e));
    assert.deepEqual(events.map((e) => e.type), ['ERROR']);
    assert.deepEqual(events[0]?.object, { metadata: {}, code: 410, reason: 'Expired', message: `too old resource version: 1 (${server.store.resourceVersion})` });
    const strict = new FakeKubeApiServer({ anonymous: true, expiredAs: 'status' });
    await strict.listen({ host: '127.0.0.1', port: 0 });
    const anon = await createKubeApi({ apiUrl: strict.url });
    try {
      strict.store.create({ name: 'a' });
      strict.compact();
      await assert.rejects(anon.watchNodes({ resourceVersion: '1', timeoutSeconds: 30, signal: T() }, () => {}), isStoreError('ERR_KUBE_EXPIRED', /watch nodes: HTTP 410: too old resource version/));
    } finally {
      anon.close();
      await strict.close();
    }
  });

  it('a watch cut by the server rejects as unreachable; the caller\'s abort passes through', async () => {
    const watching = api.watchNodes({ resourceVersion: server.store.resourceVersion, timeoutSeconds: 30, signal: T() }, () => {});
    await poll(() => server.openWatches === 1, { what: 'watch open' });
    server.dropWatches();
    await assert.rejects(watching, isStoreError('ERR_KUBE_UNREACHABLE', /watch nodes: /));
    const ac = new AbortController();
    const reason = new Error('stopping');
    const aborted = api.watchNodes({ resourceVersion: server.store.resourceVersion, timeoutSeconds: 30, signal: ac.signal }, () => {});
    await poll(() => server.openWatches === 1, { what: 'watch open' });
    ac.abort(reason);
    await assert.rejects(aborted, (err) => err === reason);
  });

  it('patches node status as a strategic merge patch', async () => {
    await api.patchNodeStatus('n3', { metadata: { annotations: { 'flannel.alpha.coreos.com/public-ip': '10.9.9.9' } } }, T());
    const rec = server.requests.at(-1);
    assert.equal(rec?.method, 'PATCH');
    assert.equal(rec?.url, '/api/v1/nodes/n3/status');
    assert.equal(rec?.contentType, 'application/strategic-merge-patch+json');
    assert.equal(server.store.get('n3')?.metadata.annotations?.['flannel.alpha.coreos.com/public-ip'], '10.9.9.9');
    await assert.rejects(api.patchNodeStatus('ghost', {}, T()), isStoreError('ERR_KUBE_NOT_FOUND', /patch node "ghost" status: HTTP 404: nodes "ghost" not found/));
  });

  it('403 with what was denied and the RBAC hint; 401; 404', async () => {
    server.forbid({ verb: 'list', resource: 'nodes' });
    try {
      await assert.rejects(api.listNodes({ signal: T() }, () => {}), (err: unknown) => {
        isStoreError('ERR_KUBE_FORBIDDEN', /list nodes: HTTP 403: nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope \(the ClusterRole bound to flanneld's service account must allow it; see deploy\/kube-flannel-ts\.yml\)/)(err);
        assert.equal((err as StoreError).retryable, false);
        assert.equal((err as StoreError).status, 403);
        return true;
      });
    } finally {
      server.allowAll();
    }
    const bad = new HttpKubeApi({ server: server.url, tls: { insecure: false }, auth: { kind: 'token', token: 'wrong' } });
    try {
      await assert.rejects(bad.listNodes({ signal: T() }, () => {}), isStoreError('ERR_KUBE_UNAUTHORIZED', /HTTP 401: Unauthorized \(no valid credentials/));
    } finally {
      bad.close();
    }
    await assert.rejects(api.readPodNodeName('ns', 'nope', T()), isStoreError('ERR_KUBE_NOT_FOUND', /get pod ns\/nope: HTTP 404/));
  });

  it('connection refused, and a server that never answers (timed out), are unreachable and retryable', async () => {
    const silent: Server = createServer((s: Socket) => s.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const mute = new HttpKubeApi({ server: `http://127.0.0.1:${port}`, tls: { insecure: false }, auth: { kind: 'none' } }, { requestTimeoutMs: 200 });
    try {
      await assert.rejects(mute.readPodNodeName('ns', 'p', T()), (err: unknown) => {
        isStoreError('ERR_KUBE_UNREACHABLE', /get pod ns\/p: timed out/)(err);
        return (err as StoreError).retryable;
      });
    } finally {
      mute.close();
      silent.close();
    }
    const refused = new HttpKubeApi({ server: `http://127.0.0.1:${port}`, tls: { insecure: false }, auth: { kind: 'none' } });
    await assert.rejects(refused.listNodes({ signal: T() }, () => {}), isStoreError('ERR_KUBE_UNREACHABLE', /list nodes: connect ECONNREFUSED/));
    refused.close();
  });
});
