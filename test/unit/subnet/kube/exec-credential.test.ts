/**
 * Exec credential plugins, with a tiny plugin script written by the test and run for real:
 * what it is given (args, env, KUBERNETES_EXEC_INFO), its token or client certificate used on
 * the wire, its result kept until expirationTimestamp, run again after a 401, and errors that
 * say what went wrong with it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../../../src/errors.js';
import { HttpKubeApi } from '../../../../src/subnet/kube/kube-client.js';
import { resolveKubeConnection } from '../../../../src/subnet/kube/kube-connection.js';
import { credentialSource } from '../../../../src/subnet/kube/kube-credentials.js';
import { FakeKubeApiServer } from '../../../fakes/kube-api-server/kube-api-server.js';
import { makeTestPki, type TestPki } from '../../../support/test-pki.js';

const PLUGIN = `
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
const dir = process.env.PLUGIN_DIR;
appendFileSync(dir + '/runs', 'x');
writeFileSync(dir + '/seen.json', JSON.stringify({ info: JSON.parse(process.env.KUBERNETES_EXEC_INFO), args: process.argv.slice(2), foo: process.env.FOO }));
const mode = readFileSync(dir + '/mode', 'utf8').trim();
const asked = JSON.parse(process.env.KUBERNETES_EXEC_INFO).apiVersion;
const out = (status, apiVersion = asked) => process.stdout.write(JSON.stringify({ apiVersion, kind: 'ExecCredential', status }));
const file = (f) => readFileSync(dir + '/' + f, 'utf8').trim();
if (mode === 'token') out({ token: file('token'), expirationTimestamp: file('expiry') || undefined });
else if (mode === 'cert') out({ clientCertificateData: readFileSync(file('cert'), 'utf8'), clientKeyData: readFileSync(file('key'), 'utf8') });
else if (mode === 'fail') { process.stderr.write('boom: no session\\n'); process.exit(3); }
else if (mode === 'badversion') out({ token: 'x' }, 'client.authentication.k8s.io/v1alpha1');
else if (mode === 'notoken') out({});
else process.stdout.write('hello');
`;

describe('exec credential plugins', () => {
  let dir: string;
  let pki: TestPki;
  let server: FakeKubeApiServer;
  const tokens: Record<string, string> = {};
  let clock = Date.parse('2026-12-01T00:00:00Z');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-exec-'));
    pki = await makeTestPki(dir);
    server = new FakeKubeApiServer({
      tokens,
      tls: { cert: await readFile(pki.serverCertFile, 'utf8'), key: await readFile(pki.serverKeyFile, 'utf8') },
      clientCa: await readFile(pki.caFile, 'utf8'),
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    server.store.pods.set('ns/p', { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' } });
    await writeFile(join(dir, 'plugin.mjs'), PLUGIN);
    await writeFile(join(dir, 'cert'), pki.clientCertFile);
    await writeFile(join(dir, 'key'), pki.clientKeyFile);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes a kubeconfig whose user runs the plugin; returns a client with a settable clock. */
  async function client(mode: string, exec: Record<string, unknown> = {}): Promise<HttpKubeApi> {
    await writeFile(join(dir, 'mode'), mode);
    await writeFile(join(dir, 'runs'), '');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority': pki.caFile } }],
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              interactiveMode: 'IfAvailable',
              command: process.execPath,
              args: [join(dir, 'plugin.mjs'), '--region', 'eu'],
              env: [
                { name: 'PLUGIN_DIR', value: dir },
                { name: 'FOO', value: 'bar' },
              ],
              ...exec,
            },
          },
        },
      ],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    };
    await writeFile(join(dir, 'kubeconfig'), JSON.stringify(kubeconfig));
    const conn = await resolveKubeConnection({ kubeconfigFile: join(dir, 'kubeconfig') });
    assert.equal(conn.auth.kind, 'exec');
    return new HttpKubeApi(conn, { requestTimeoutMs: 10_000, credentials: credentialSource(conn.auth, { now: () => clock, execTimeoutMs: 10_000 }) });
  }

  const runs = async () => (await readFile(join(dir, 'runs'), 'utf8')).length;
  const getPod = (api: HttpKubeApi) => api.readPodNodeName('ns', 'p', AbortSignal.timeout(10_000));

  it('runs the plugin once with its args, env and KUBERNETES_EXEC_INFO, and keeps the token until it expires', async () => {
    tokens['exec-1'] = 'exec-user';
    await writeFile(join(dir, 'token'), 'exec-1');
    await writeFile(join(dir, 'expiry'), new Date(clock + 60_000).toISOString());
    const api = await client('token', { provideClusterInfo: true });
    try {
      assert.equal(await getPod(api), 'n1');
      assert.equal(await getPod(api), 'n1');
      assert.equal(server.requests.at(-1)?.user, 'exec-user');
      assert.equal(await runs(), 1, 'the token is kept while valid');
      const seen = JSON.parse(await readFile(join(dir, 'seen.json'), 'utf8')) as { info: { apiVersion: string; kind: string; spec: { interactive: boolean; cluster: { server: string } } }; args: string[]; foo: string };
      assert.deepEqual(seen.args, ['--region', 'eu']);
      assert.equal(seen.foo, 'bar');
      assert.equal(seen.info.apiVersion, 'client.authentication.k8s.io/v1');
      assert.equal(seen.info.kind, 'ExecCredential');
      assert.equal(seen.info.spec.interactive, false);
      assert.equal(seen.info.spec.cluster.server, server.url);
      clock += 61_000;
      assert.equal(await getPod(api), 'n1');
      assert.equal(await runs(), 2, 'run again once expired');
    } finally {
      api.close();
    }
  });

  it('runs the plugin again when the server refuses its token (401), and retries the request once', async () => {
    tokens['exec-2'] = 'exec-user';
    await writeFile(join(dir, 'token'), 'exec-2');
    await writeFile(join(dir, 'expiry'), '');
    const api = await client('token');
    try {
      await getPod(api);
      delete tokens['exec-2'];
      tokens['exec-3'] = 'exec-user-3';
      await writeFile(join(dir, 'token'), 'exec-3');
      assert.equal(await getPod(api), 'n1');
      assert.equal(server.requests.at(-1)?.user, 'exec-user-3');
      assert.equal(await runs(), 2);
    } finally {
      api.close();
    }
  });

  it('uses a client certificate the plugin returns (the server sees its CN)', async () => {
    const api = await client('cert');
    try {
      await getPod(api);
      assert.equal(server.requests.at(-1)?.user, 'root');
    } finally {
      api.close();
    }
  });

  it('says what went wrong with the plugin', async () => {
    const fails = async (mode: string, re: RegExp, exec: Record<string, unknown> = {}, retryable?: boolean) => {
      const api = await client(mode, exec);
      try {
        await assert.rejects(getPod(api), (err: unknown) => {
          assert.ok(err instanceof StoreError, String(err));
          assert.equal(err.code, 'ERR_KUBE_CONFIG');
          assert.match(err.message, re);
          assert.match(err.message, /users\[0\]\.user\.exec/);
          if (retryable !== undefined) assert.equal(err.retryable, retryable);
          return true;
        });
      } finally {
        api.close();
      }
    };
    await fails('token', /exec plugin ".*no-such-plugin": not found; see https:\/\/example\.com\/install/, { command: join(dir, 'no-such-plugin'), installHint: 'see https://example.com/install' }, false);
    await fails('fail', /exited with 3: boom: no session/, {}, true);
    await fails('badversion', /output has apiVersion "client\.authentication\.k8s\.io\/v1alpha1", want "client\.authentication\.k8s\.io\/v1"/);
    await fails('notoken', /status has neither a token nor clientCertificateData/);
    await fails('garbage', /output is not JSON/);
  });
});
