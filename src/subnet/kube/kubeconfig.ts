/**
 * Reads a kubeconfig file (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/,
 * the clientcmd v1 Config) into a KubeConnection: the current context's cluster and user.
 *
 * Cluster: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name.
 * User: client-certificate(-data) and client-key(-data), token, tokenFile, username/password,
 * exec (client.authentication.k8s.io/v1 and v1beta1). Relative paths are relative to the
 * file's folder; a -data field wins over its file twin, a token over a tokenFile, as in
 * client-go. auth-provider, impersonation (`as`) and proxy-url are not supported: they are
 * refused by name rather than ignored. Every error is a UsageError for -kubeconfig-file that
 * names the file and the field (`users[0].user.client-key`).
 *
 * The file is JSON or YAML; JSON (which is YAML) is read without loading a YAML parser.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError, errorMessage } from '../../errors.js';
import type { ExecConfig, KubeAuth, KubeConnection, KubeTls } from './kube-connection.js';
import { serverUrl } from './kube-connection.js';
import { parseKubeconfigYaml } from './kubeconfig-yaml.js';

const FLAG = 'kubeconfig-file';
const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

type Obj = Readonly<Record<string, unknown>>;

/** Field readers that name the field in every error. */
class Fields {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly obj: Obj,
  ) {}

  fail(field: string, why: string): never {
    const at = field === '' ? this.path : this.path === '' ? field : `${this.path}.${field}`;
    throw new UsageError(FLAG, `-kubeconfig-file=${JSON.stringify(this.file)}: ${at}: ${why}`);
  }

  str(field: string): string | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') this.fail(field, `must be a string, not ${describe(v)}`);
    return v;
  }

  bool(field: string): boolean {
    const v = this.obj[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, not ${describe(v)}`);
    return v;
  }

  list(field: string): unknown[] {
    const v = this.obj[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, `must be a list, not ${describe(v)}`);
    return v;
  }

  sub(field: string): Fields | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) this.fail(field, `must be a mapping, not ${describe(v)}`);
    return new Fields(this.file, this.path === '' ? field : `${this.path}.${field}`, v);
  }

  /** A file path field, relative to the kubeconfig's folder, read now. */
  fileBytes(field: string): Buffer | undefined {
    const p = this.str(field);
    if (p === undefined) return undefined;
    const abs = resolve(dirname(this.file), p);
    try {
      return readFileSync(abs);
    } catch (err) {
      this.fail(field, `cannot read ${abs}: ${errorMessage(err)}`);
    }
  }

  /** A base64 -data field holding PEM. */
  pemData(field: string): Buffer | undefined {
    const s = this.str(field);
    if (s === undefined) return undefined;
    const bytes = Buffer.from(s, 'base64');
    if (!bytes.toString('latin1').includes('-----BEGIN ')) this.fail(field, 'is not base64-encoded PEM');
    return bytes;
  }
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Parses the file's text: JSON when it looks like JSON, else YAML. */
export async function parseKubeconfigText(file: string, text: string): Promise<unknown> {
  const body = text.replace(/^\uFEFF/, '');
  if (/^\s*\{/.test(body)) {
    try {
      return JSON.parse(body);
    } catch {
      // YAML's flow style also starts with "{": let the YAML parser say what is wrong.
    }
  }
  try {
    return await parseKubeconfigYaml(body);
  } catch (err) {
    throw new UsageError(FLAG, `-kubeconfig-file=${JSON.stringify(file)}: not valid YAML: ${errorMessage(err)}`, { cause: err });
  }
}

/** Reads the file and resolves its current context. */
export async function readKubeconfig(file: string, opts: { serverOverride?: string | undefined } = {}): Promise<KubeConnection> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(FLAG, `-kubeconfig-file=${JSON.stringify(file)}: ${errorMessage(err)}`, { cause: err });
  }
  return kubeconfigConnection(file, await parseKubeconfigText(file, text), opts);
}

/** The named entry of a kubeconfig list (clusters, users, contexts) and where it is. */
function entry(top: Fields, list: 'clusters' | 'users' | 'contexts', inner: 'cluster' | 'user' | 'context', name: string, wanted: string): Fields {
  const items = top.list(list);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isObj(item)) top.fail(`${list}[${i}]`, `must be a mapping, not ${describe(item)}`);
    if (item['name'] !== name) continue;
    const body = new Fields(top.file, `${list}[${i}]`, item).sub(inner);
    return body ?? new Fields(top.file, `${list}[${i}].${inner}`, {});
  }
  return top.fail(list, `no ${inner} named ${JSON.stringify(name)} (${wanted})`);
}

/** The connection of the kubeconfig's current context. */
export function kubeconfigConnection(file: string, doc: unknown, opts: { serverOverride?: string | undefined } = {}): KubeConnection {
  if (!isObj(doc)) throw new UsageError(FLAG, `-kubeconfig-file=${JSON.stringify(file)}: not a kubeconfig (a mapping with clusters, users, contexts and current-context)`);
  const top = new Fields(file, '', doc);
  const currentName = top.str('current-context') ?? top.fail('current-context', 'is not set: no context to use');
  const ctx = entry(top, 'contexts', 'context', currentName, 'the current-context');
  const clusterName = ctx.str('cluster') ?? ctx.fail('cluster', 'is not set');
  const cluster = entry(top, 'clusters', 'cluster', clusterName, `named by context ${JSON.stringify(currentName)}`);
  const userName = ctx.str('user');
  const user = userName === undefined ? undefined : entry(top, 'users', 'user', userName, `named by context ${JSON.stringify(currentName)}`);

  const serverText = cluster.str('server');
  const server =
    opts.serverOverride ??
    (serverText === undefined
      ? cluster.fail('server', 'is not set')
      : serverUrl(serverText, FLAG, `-kubeconfig-file=${JSON.stringify(file)}: ${cluster.path}.server=${JSON.stringify(serverText)}`));
  if (cluster.str('proxy-url') !== undefined) cluster.fail('proxy-url', 'is not supported by flannel-ts');

  const insecure = cluster.bool('insecure-skip-tls-verify');
  const ca = cluster.pemData('certificate-authority-data') ?? cluster.fileBytes('certificate-authority');
  if (insecure && ca) cluster.fail('insecure-skip-tls-verify', 'cannot be combined with certificate-authority(-data): verify the server or do not');
  const tls: { -readonly [K in keyof KubeTls]: KubeTls[K] } = { ca, insecure, serverName: cluster.str('tls-server-name') };
  const auth = user ? userAuth(user, tls) : ({ kind: 'none' } as const);
  if (auth.kind === 'exec' && auth.exec.provideClusterInfo) {
    return { server, tls, auth: { kind: 'exec', exec: { ...auth.exec, cluster: execClusterInfo(cluster, server, tls) } } };
  }
  return { server, tls, auth };
}

/** The user's credentials; client certificates go into tls. */
function userAuth(user: Fields, tls: { cert?: Buffer | undefined; key?: Buffer | undefined }): KubeAuth {
  for (const unsupported of ['auth-provider', 'as', 'as-uid', 'as-groups', 'as-user-extra']) {
    if (user.obj[unsupported] !== undefined && user.obj[unsupported] !== null) {
      user.fail(unsupported, unsupported === 'auth-provider' ? 'auth providers are not supported by flannel-ts; use an exec credential plugin' : 'impersonation is not supported by flannel-ts');
    }
  }
  tls.cert = user.pemData('client-certificate-data') ?? user.fileBytes('client-certificate');
  tls.key = user.pemData('client-key-data') ?? user.fileBytes('client-key');
  if (tls.cert && !tls.key) user.fail('client-key', 'is not set, but client-certificate is: give both');
  if (tls.key && !tls.cert) user.fail('client-certificate', 'is not set, but client-key is: give both');

  const token = user.str('token');
  const tokenFile = user.str('tokenFile');
  const username = user.str('username');
  const password = user.str('password');
  const exec = user.sub('exec');
  const hasToken = token !== undefined || tokenFile !== undefined;
  if ((username !== undefined || password !== undefined) && hasToken) user.fail('username', 'username/password and a bearer token (token, tokenFile) cannot both be set');
  if (exec && (hasToken || username !== undefined)) user.fail('exec', 'an exec plugin cannot be combined with token, tokenFile or username/password');
  if (exec) return { kind: 'exec', exec: execConfig(exec) };
  if (token !== undefined) return { kind: 'token', token };
  if (tokenFile !== undefined) return { kind: 'tokenFile', path: resolve(dirname(user.file), tokenFile) };
  if (username !== undefined || password !== undefined) return { kind: 'basic', username: username ?? '', password: password ?? '' };
  return { kind: 'none' };
}

function execConfig(exec: Fields): ExecConfig {
  const apiVersion = exec.str('apiVersion') ?? exec.fail('apiVersion', `is not set (want ${EXEC_API_VERSIONS.join(' or ')})`);
  if (!(EXEC_API_VERSIONS as readonly string[]).includes(apiVersion)) exec.fail('apiVersion', `${JSON.stringify(apiVersion)} is not supported (want ${EXEC_API_VERSIONS.join(' or ')})`);
  const commandText = exec.str('command') ?? exec.fail('command', 'is not set');
  // As clientcmd: a command with a path separator is relative to the kubeconfig's folder; a bare name is looked up in PATH.
  const command = commandText.includes('/') ? resolve(dirname(exec.file), commandText) : commandText;
  const args = exec.list('args').map((a, i) => (typeof a === 'string' ? a : exec.fail(`args[${i}]`, `must be a string, not ${describe(a)}`)));
  const env = exec.list('env').map((e, i) => {
    if (!isObj(e)) return exec.fail(`env[${i}]`, `must be a mapping with name and value, not ${describe(e)}`);
    const f = new Fields(exec.file, `${exec.path}.env[${i}]`, e);
    const name = f.str('name') ?? f.fail('name', 'is not set');
    return { name, value: f.str('value') ?? '' };
  });
  const mode = exec.str('interactiveMode');
  if (mode !== undefined && !['Never', 'IfAvailable', 'Always'].includes(mode)) exec.fail('interactiveMode', `${JSON.stringify(mode)} is not Never, IfAvailable or Always`);
  if (mode === undefined && apiVersion === 'client.authentication.k8s.io/v1') exec.fail('interactiveMode', 'is required by client.authentication.k8s.io/v1 (flanneld runs without a terminal: use Never)');
  if (mode === 'Always') exec.fail('interactiveMode', 'is Always, but flanneld runs without a terminal: the plugin must work with Never or IfAvailable');
  return {
    apiVersion: apiVersion as ExecConfig['apiVersion'],
    command,
    args,
    env,
    installHint: exec.str('installHint'),
    provideClusterInfo: exec.bool('provideClusterInfo'),
    where: `-kubeconfig-file=${JSON.stringify(exec.file)}: ${exec.path}`,
  };
}

/** ExecCredential spec.cluster (clientauthentication Cluster), for provideClusterInfo. */
function execClusterInfo(cluster: Fields, server: string, tls: KubeTls): Record<string, unknown> {
  const info: Record<string, unknown> = { server };
  if (tls.serverName) info['tls-server-name'] = tls.serverName;
  if (tls.insecure) info['insecure-skip-tls-verify'] = true;
  if (tls.ca) info['certificate-authority-data'] = tls.ca.toString('base64');
  const extensions = cluster.list('extensions');
  for (const x of extensions) {
    if (isObj(x) && x['name'] === 'client.authentication.k8s.io/exec') info['config'] = x['extension'];
  }
  return info;
}
