/**
 * The stand-in API server itself, over plain HTTP (fetch), and flanneld's client's view of it:
 * status codes, patches, watch semantics, TLS with the in-cluster configuration.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKubeApi } from '../../../../src/subnet/kube/kube-client.js';
import type { WatchEvent } from '../../../../src/subnet/kube/kube-api.js';
import { FakeKubeApiServer } from '../../../fakes/kube-api-server/kube-api-server.js';
import { strategicMergePatch } from '../../../fakes/kube-api-server/merge-patch.js';
import { makeTestPki } from '../../../support/test-pki.js';
import { poll } from '../../../support/poll.js';

const AUTH = { authorization: 'Bearer t' };

describe('FakeKubeApiServer', () => {
  let server: FakeKubeApiServer;
  before(async () => {
    server = new FakeKubeApiServer({ tokens: { t: 'alice' } });
    await server.listen({ host: '127.0.0.1', port: 0 });
    server.store.create({ name: 'a', podCIDR: '10.0.1.0/24', status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  });
  after(async () => server.close());

  const get = (path: string, headers: Record<string, string> = AUTH) => fetch(`${server.url}${path}`, { headers });
  const patch = (path: string, type: string, body: unknown) =>
    fetch(`${server.url}${path}`, { method: 'PATCH', headers: { ...AUTH, 'content-type': type }, body: JSON.stringify(body) });

  it('answers 401 with a Status without a known bearer token', async () => {
    const res = await get('/api/v1/nodes', {});
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  it('lists with the store resourceVersion and serves single nodes, 404 otherwise', async () => {
    const list = (await (await get('/api/v1/nodes')).json()) as { kind: string; metadata: { resourceVersion: string }; items: unknown[] };
    assert.equal(list.kind, 'NodeList');
    assert.equal(list.metadata.resourceVersion, server.store.resourceVersion);
    assert.equal(list.items.length, 1);
    assert.equal((await get('/api/v1/nodes/a')).status, 200);
    const nf = await get('/api/v1/nodes/zz');
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { reason: string }).reason, 'NotFound');
  });

  it('merge-patches metadata on nodes, ignores status there; strategic-merges conditions by type on nodes/status', async () => {
    let res = await patch('/api/v1/nodes/a', 'application/merge-patch+json', { metadata: { annotations: { x: '1' } }, status: { conditions: [] } });
    assert.equal(res.status, 200);
    assert.equal(server.store.get('a')?.metadata.annotations?.['x'], '1');
    assert.equal(server.store.get('a')?.status?.conditions?.length, 1, 'status is not changed through the main resource');
    res = await patch('/api/v1/nodes/a/status', 'application/strategic-merge-patch+json', { status: { conditions: [{ type: 'NetworkUnavailable', status: 'False' }] }, spec: { podCIDR: 'x' } });
    assert.equal(res.status, 200);
    const n = server.store.get('a');
    assert.deepEqual(n?.status?.conditions?.map((c) => c['type']), ['Ready', 'NetworkUnavailable']);
    assert.equal(n?.spec?.podCIDR, '10.0.1.0/24', 'spec is not changed through status');
    assert.equal((await patch('/api/v1/nodes/a', 'application/json-patch+json', [])).status, 415);
    const rv = server.store.resourceVersion;
    await patch('/api/v1/nodes/a/status', 'application/strategic-merge-patch+json', { metadata: { annotations: { x: '1' } } });
    assert.equal(server.store.resourceVersion, rv, 'a patch that changes nothing writes nothing');
    const conflict = await patch('/api/v1/nodes/a', 'application/merge-patch+json', { metadata: { resourceVersion: '1', labels: { y: '2' } } });
    assert.equal(conflict.status, 409);
  });

  it('strategic merge: directives and primitive list union', () => {
    const base = { status: { conditions: [{ type: 'A', status: 'x' }, { type: 'B', status: 'y' }] }, spec: { podCIDRs: ['10.0.0.0/24'] } };
    const out = strategicMergePatch(base, {
      status: { '$setElementOrder/conditions': [{ type: 'C' }, { type: 'B' }], conditions: [{ type: 'A', $patch: 'delete' }, { type: 'C', status: 'z' }] },
      spec: { podCIDRs: ['fc00::/64'] },
    } as never) as typeof base;
    assert.deepEqual(out.status.conditions.map((c) => c.type), ['C', 'B']);
    assert.deepEqual(out.spec.podCIDRs, ['10.0.0.0/24', 'fc00::/64']);
  });

  it('watches: ADDED for everything from "0", events after a version, bookmarks, 410 for a compacted version', async () => {
    // -kube-api-url alone sends no token: a server that accepts that.
    const anon = new FakeKubeApiServer({ anonymous: true });
    await anon.listen({ host: '127.0.0.1', port: 0 });
    try {
      anon.store.create({ name: 'w1' });
      const rv = anon.store.resourceVersion;
      const events: WatchEvent[] = [];
      const ac = new AbortController();
      const watching = (await createKubeApi({ apiUrl: anon.url })).watchNodes({ resourceVersion: rv, timeoutSeconds: 30, signal: ac.signal }, (e) => events.push(e));
      await poll(() => anon.openWatches === 1, { what: 'watch open' });
      anon.store.create({ name: 'w2' });
      anon.sendBookmarks();
      await poll(() => events.length >= 2, { what: 'two events' });
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
      // The client keeps only what flanneld reads of an event's object.
      assert.deepEqual(events[1]?.object, { metadata: { resourceVersion: anon.store.resourceVersion } });
      assert.equal((events[0]?.object as { metadata: { name: string } }).metadata.name, 'w2');
      anon.dropWatches();
      await watching.catch(() => {});
      ac.abort();
      anon.compact();
      const expired: WatchEvent[] = [];
      await (await createKubeApi({ apiUrl: anon.url })).watchNodes({ resourceVersion: rv, timeoutSeconds: 30, signal: AbortSignal.timeout(5000) }, (e) => expired.push(e));
      assert.equal(expired[0]?.type, 'ERROR');
      assert.equal((expired[0]?.object as { code: number }).code, 410);
    } finally {
      await anon.close();
    }
  });
});

describe('in-cluster configuration (service account token and CA, HTTPS)', () => {
  let dir: string;
  let server: FakeKubeApiServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-incluster-'));
    const pki = await makeTestPki(dir);
    server = new FakeKubeApiServer({ tokens: { 'sa-token': 'system:serviceaccount:kube-flannel:flannel' }, tls: { cert: await readFile(pki.serverCertFile, 'utf8'), key: await readFile(pki.serverKeyFile, 'utf8') } });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const sa = join(dir, 'sa');
    await (await import('node:fs/promises')).mkdir(sa);
    await writeFile(join(sa, 'token'), 'sa-token');
    await writeFile(join(sa, 'ca.crt'), await readFile(pki.caFile));
    server.store.create({ name: 'ic', podCIDR: '10.0.9.0/24' });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists nodes over TLS with the mounted token', async () => {
    const port = new URL(server.url).port;
    const api = await createKubeApi({ serviceHost: '127.0.0.1', servicePort: port, serviceAccountDir: join(dir, 'sa') });
    const list = await api.listNodes({ resourceVersion: '0', signal: AbortSignal.timeout(5000) }, () => {});
    assert.equal(list.count, 1);
    api.close();
    assert.equal(server.requests.at(-1)?.user, 'system:serviceaccount:kube-flannel:flannel');
  });

  it('says what is missing outside a pod', async () => {
    await assert.rejects(createKubeApi({ serviceAccountDir: join(dir, 'sa') }), /KUBERNETES_SERVICE_HOST/);
    await assert.rejects(createKubeApi({ serviceHost: '10.96.0.1', servicePort: '443', serviceAccountDir: join(dir, 'nothing') }), /service account file .*token is missing/);
  });
});
