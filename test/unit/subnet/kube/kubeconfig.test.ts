/**
 * Reading kubeconfig files: each field of the current context's cluster and user, the choice
 * of context, JSON and YAML, -kube-api-url overriding the server, and errors that name the
 * file and the field.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../../../src/errors.js';
import { kubeconfigConnection, readKubeconfig } from '../../../../src/subnet/kube/kubeconfig.js';
import { resolveKubeConnection } from '../../../../src/subnet/kube/kube-connection.js';

const PEM_CA = '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n';
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with one context "ctx" joining cluster "c" and user "u" (overridable). */
function config(cluster: Record<string, unknown>, user: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'other', cluster: { server: 'https://other.example:6443' } },
      { name: 'c', cluster: { server: 'https://10.0.0.1:6443', ...cluster } },
    ],
    users: user ? [{ name: 'u', user }] : [],
    contexts: [
      { name: 'first', context: { cluster: 'other', user: 'u' } },
      { name: 'ctx', context: { cluster: 'c', ...(user ? { user: 'u' } : {}) } },
    ],
    'current-context': 'ctx',
    ...extra,
  };
}

describe('kubeconfig', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    await mkdir(join(dir, 'pki'));
    await writeFile(join(dir, 'pki', 'ca.crt'), PEM_CA);
    await writeFile(join(dir, 'pki', 'client.crt'), PEM_CERT);
    await writeFile(join(dir, 'pki', 'client.key'), PEM_KEY);
    await writeFile(join(dir, 'token'), 'file-token\n');
    file = join(dir, 'kubeconfig');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const conn = (doc: unknown, opts = {}) => kubeconfigConnection(file, doc, opts);
  const fails = (doc: unknown, re: RegExp) =>
    assert.throws(
      () => conn(doc),
      (err: unknown) => err instanceof UsageError && err.flag === 'kubeconfig-file' && err.message.includes(JSON.stringify(file)) && re.test(err.message),
    );

  it('uses the current context: its cluster server (trailing slash dropped) and its user', () => {
    const c = conn(config({ server: 'https://10.0.0.1:6443/' }, { token: 'abc' }));
    assert.equal(c.server, 'https://10.0.0.1:6443');
    assert.deepEqual(c.auth, { kind: 'token', token: 'abc' });
    assert.deepEqual(c.tls, { ca: undefined, insecure: false, serverName: undefined, cert: undefined, key: undefined });
    const other = conn({ ...config({}, { token: 'abc' }), 'current-context': 'first' });
    assert.equal(other.server, 'https://other.example:6443');
  });

  it('certificate-authority is relative to the file; certificate-authority-data wins over it', () => {
    assert.equal(conn(config({ 'certificate-authority': 'pki/ca.crt' }, undefined)).tls.ca?.toString(), PEM_CA);
    assert.equal(conn(config({ 'certificate-authority': 'pki/ca.crt', 'certificate-authority-data': b64(PEM_CERT) }, undefined)).tls.ca?.toString(), PEM_CERT);
  });

  it('insecure-skip-tls-verify and tls-server-name', () => {
    const c = conn(config({ 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes.default' }, undefined));
    assert.equal(c.tls.insecure, true);
    assert.equal(c.tls.serverName, 'kubernetes.default');
  });

  it('client-certificate and client-key, as files or -data', () => {
    const files = conn(config({}, { 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'pki', 'client.key') }));
    assert.equal(files.tls.cert?.toString(), PEM_CERT);
    assert.equal(files.tls.key?.toString(), PEM_KEY);
    assert.deepEqual(files.auth, { kind: 'none' });
    const data = conn(config({}, { 'client-certificate-data': b64(PEM_CERT), 'client-key-data': b64(PEM_KEY), token: 't' }));
    assert.equal(data.tls.key?.toString(), PEM_KEY);
    assert.deepEqual(data.auth, { kind: 'token', token: 't' });
  });

  it('token wins over tokenFile; tokenFile is relative to the file', () => {
    assert.deepEqual(conn(config({}, { token: 't', tokenFile: 'token' })).auth, { kind: 'token', token: 't' });
    assert.deepEqual(conn(config({}, { tokenFile: 'token' })).auth, { kind: 'tokenFile', path: join(dir, 'token') });
  });

  it('username and password', () => {
    assert.deepEqual(conn(config({}, { username: 'admin', password: 's3cret' })).auth, { kind: 'basic', username: 'admin', password: 's3cret' });
  });

  it('exec: command (relative to the file when it has a slash), args, env, apiVersion, cluster info', () => {
    const doc = config(
      { 'certificate-authority-data': b64(PEM_CA), extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'x' } }] },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './bin/get-token',
          args: ['--cluster', 'c'],
          env: [{ name: 'FOO', value: 'bar' }],
          interactiveMode: 'Never',
          provideClusterInfo: true,
          installHint: 'install get-token',
        },
      },
    );
    const c = conn(doc);
    assert.equal(c.auth.kind, 'exec');
    if (c.auth.kind !== 'exec') return;
    assert.equal(c.auth.exec.command, join(dir, 'bin', 'get-token'));
    assert.deepEqual(c.auth.exec.args, ['--cluster', 'c']);
    assert.deepEqual(c.auth.exec.env, [{ name: 'FOO', value: 'bar' }]);
    assert.equal(c.auth.exec.installHint, 'install get-token');
    assert.deepEqual(c.auth.exec.cluster, { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(PEM_CA), config: { audience: 'x' } });
    const bare = conn(config({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws' } }));
    assert.equal(bare.auth.kind === 'exec' && bare.auth.exec.command, 'aws', 'a bare name is looked up in PATH');
  });

  it('-kube-api-url replaces the server (which may then be missing)', () => {
    assert.equal(conn(config({ server: undefined }, undefined), { serverOverride: 'http://127.0.0.1:8080' }).server, 'http://127.0.0.1:8080');
  });

  it('names the field and the file when something is wrong', () => {
    fails({ ...config({}, undefined), 'current-context': '' }, /current-context: is not set/);
    fails({ ...config({}, undefined), 'current-context': 'nope' }, /contexts: no context named "nope"/);
    fails({ ...config({}, undefined), contexts: [{ name: 'ctx', context: { cluster: 'gone' } }] }, /clusters: no cluster named "gone"/);
    fails({ ...config({}, undefined), contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'who' } }] }, /users: no user named "who"/);
    fails({ ...config({}, undefined), contexts: [{ name: 'ctx', context: {} }] }, /contexts\[0\]\.context\.cluster: is not set/);
    fails(config({ server: undefined }, undefined), /clusters\[1\]\.cluster\.server: is not set/);
    fails(config({ server: 'ftp://x' }, undefined), /clusters\[1\]\.cluster\.server="ftp:\/\/x": the scheme must be https or http/);
    fails(config({ server: 'not a url' }, undefined), /server="not a url": not a URL/);
    fails(config({ 'certificate-authority': 'pki/missing.crt' }, undefined), new RegExp(`clusters\\[1\\]\\.cluster\\.certificate-authority: cannot read ${join(dir, 'pki', 'missing.crt')}: ENOENT`));
    fails(config({ 'certificate-authority-data': 'bm90IHBlbQ==' }, undefined), /certificate-authority-data: is not base64-encoded PEM/);
    fails(config({ 'insecure-skip-tls-verify': 'yes' }, undefined), /insecure-skip-tls-verify: must be true or false, not string "yes"/);
    fails(config({ 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(PEM_CA) }, undefined), /insecure-skip-tls-verify: cannot be combined with certificate-authority/);
    fails(config({ 'proxy-url': 'http://proxy:3128' }, undefined), /proxy-url: is not supported/);
    fails(config({}, { 'client-certificate': 'pki/client.crt' }), /users\[0\]\.user\.client-key: is not set, but client-certificate is/);
    fails(config({}, { 'client-key-data': b64(PEM_KEY) }), /client-certificate: is not set, but client-key is/);
    fails(config({}, { token: 't', username: 'a', password: 'b' }), /users\[0\]\.user\.username: username\/password and a bearer token/);
    fails(config({}, { token: { nested: 1 } }), /users\[0\]\.user\.token: must be a string, not a mapping/);
    fails(config({}, { 'auth-provider': { name: 'oidc' } }), /auth-provider: auth providers are not supported/);
    fails(config({}, { as: 'admin' }), /users\[0\]\.user\.as: impersonation is not supported/);
    fails(config({}, { token: 't', exec: { command: 'x' } }), /exec: an exec plugin cannot be combined/);
    fails(config({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1' } }), /users\[0\]\.user\.exec\.command: is not set/);
    fails(config({}, { exec: { command: 'x' } }), /exec\.apiVersion: is not set/);
    fails(config({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1alpha1' } }), /exec\.apiVersion: "client.authentication.k8s.io\/v1alpha1" is not supported/);
    fails(config({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' } }), /exec\.interactiveMode: is required/);
    fails(config({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Always' } }), /interactiveMode: is Always/);
    fails(config({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1beta1', args: ['a', 1] } }), /exec\.args\[1\]: must be a string/);
    fails(config({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1beta1', env: [{ value: 'v' }] } }), /exec\.env\[0\]\.name: is not set/);
    fails({ ...config({}, undefined), clusters: 'c' }, /clusters: must be a list/);
    fails([1, 2], /not a kubeconfig/);
  });

  it('reads YAML as kubectl writes it, and JSON', async () => {
    const yaml = [
      'apiVersion: v1',
      'clusters:',
      '- cluster:',
      `    certificate-authority-data: ${b64(PEM_CA)}`,
      '    server: https://127.0.0.1:6443',
      '  name: kind-kind',
      'contexts:',
      '- context:',
      '    cluster: kind-kind',
      '    user: kind-kind',
      '  name: kind-kind',
      'current-context: kind-kind',
      'kind: Config',
      'preferences: {}',
      'users:',
      '- name: kind-kind',
      '  user:',
      '    token: "0123"   # a comment',
      '',
    ].join('\n');
    await writeFile(file, yaml);
    const c = await readKubeconfig(file);
    assert.equal(c.server, 'https://127.0.0.1:6443');
    assert.equal(c.tls.ca?.toString(), PEM_CA);
    assert.deepEqual(c.auth, { kind: 'token', token: '0123' });
    await writeFile(file, JSON.stringify(config({}, { token: 'j' })));
    assert.deepEqual((await readKubeconfig(file)).auth, { kind: 'token', token: 'j' });
    // Through flanneld's options: -kube-api-url given too replaces the server.
    assert.equal((await resolveKubeConnection({ kubeconfigFile: file, apiUrl: 'http://127.0.0.1:1/' })).server, 'http://127.0.0.1:1');
  });

  it('says which file is missing or not YAML', async () => {
    await assert.rejects(readKubeconfig(join(dir, 'absent')), (err: unknown) => err instanceof UsageError && /-kubeconfig-file=".*absent": ENOENT/.test(err.message));
    await writeFile(file, 'clusters: [\n  - a\n');
    await assert.rejects(readKubeconfig(file), (err: unknown) => err instanceof UsageError && /not valid YAML/.test(err.message));
    assert.equal(await readFile(file, 'utf8'), 'clusters: [\n  - a\n');
  });
});
