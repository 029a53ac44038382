/**
 * Where the API server is and how to authenticate to it: the settings the HTTP client needs,
 * resolved once from flanneld's options as Go flannel's clientcmd.BuildConfigFromFlags does:
 * -kubeconfig-file (its server replaced by -kube-api-url when both are given), else
 * -kube-api-url alone (no credentials), else the in-cluster service account
 * (KUBERNETES_SERVICE_HOST/PORT, the token re-read every minute, ca.crt).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { StoreError, UsageError, errorMessage } from '../../errors.js';
import { KubeErrorCode } from './kube-api.js';
import { readKubeconfig } from './kubeconfig.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConnectionOptions {
  /** -kube-api-url */
  readonly apiUrl?: string | undefined;
  /** -kubeconfig-file */
  readonly kubeconfigFile?: string | undefined;
  /** KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, for the in-cluster config. */
  readonly serviceHost?: string | undefined;
  readonly servicePort?: string | undefined;
  /** Where the service account's token and ca.crt are (tests point it elsewhere). */
  readonly serviceAccountDir?: string | undefined;
  /** Bound of one request (not of a watch); default 30 s, the node list twice that. */
  readonly requestTimeoutMs?: number | undefined;
}

/** TLS settings of the connection (PEM bytes, already read from files). */
export interface KubeTls {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** insecure-skip-tls-verify */
  readonly insecure: boolean;
  /** tls-server-name: the name to verify the server's certificate against (and SNI). */
  readonly serverName?: string | undefined;
}

/** An exec credential plugin (kubeconfig users[].user.exec). */
export interface ExecConfig {
  readonly apiVersion: 'client.authentication.k8s.io/v1' | 'client.authentication.k8s.io/v1beta1';
  readonly command: string;
  readonly args: readonly string[];
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly installHint?: string | undefined;
  readonly provideClusterInfo: boolean;
  /** What to hand the plugin in KUBERNETES_EXEC_INFO's spec.cluster when provideClusterInfo is set. */
  readonly cluster?: Readonly<Record<string, unknown>> | undefined;
  /** Where it was configured, for messages: `-kubeconfig-file="..": users[0].user.exec`. */
  readonly where: string;
}

export type KubeAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** A token in a file, re-read every minute (rotated service account tokens). */
  | { readonly kind: 'tokenFile'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'exec'; readonly exec: ExecConfig };

export interface KubeConnection {
  /** The server URL without a trailing slash: https://host:port or http://host:port (a path prefix kept). */
  readonly server: string;
  readonly tls: KubeTls;
  readonly auth: KubeAuth;
}

/** Builds the connection as Go's BuildConfigFromFlags(apiUrl, kubeconfig) would. */
export async function resolveKubeConnection(o: KubeConnectionOptions): Promise<KubeConnection> {
  if (o.kubeconfigFile) {
    const conn = await readKubeconfig(o.kubeconfigFile);
    return o.apiUrl ? { ...conn, server: serverUrl(o.apiUrl, 'kube-api-url') } : conn;
  }
  if (o.apiUrl) return { server: serverUrl(o.apiUrl, 'kube-api-url'), tls: { insecure: false }, auth: { kind: 'none' } };
  return inClusterConnection(o);
}

function inClusterConnection(o: KubeConnectionOptions): KubeConnection {
  const dir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (!o.serviceHost || !o.servicePort) {
    throw new StoreError(KubeErrorCode.config, 'in-cluster config', 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod? Pass -kube-api-url or -kubeconfig-file', {
      retryable: false,
    });
  }
  for (const f of ['token', 'ca.crt']) {
    if (!existsSync(`${dir}/${f}`)) {
      throw new StoreError(KubeErrorCode.config, 'in-cluster config', `service account file ${dir}/${f} is missing (is a service account token mounted?)`, { retryable: false });
    }
  }
  let ca: Buffer;
  try {
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (err) {
    throw new StoreError(KubeErrorCode.config, 'in-cluster config', `service account file ${dir}/ca.crt: ${errorMessage(err)}`, { retryable: false, cause: err });
  }
  const host = isIPv6(o.serviceHost) ? `[${o.serviceHost}]` : o.serviceHost;
  return { server: `https://${host}:${o.servicePort}`, tls: { ca, insecure: false }, auth: { kind: 'tokenFile', path: `${dir}/token` } };
}

/** Checks a server URL (http or https, a host) and drops trailing slashes. */
export function serverUrl(text: string, flag: string, where = `-${flag}=${JSON.stringify(text)}`): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(flag, `${where}: not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(flag, `${where}: the scheme must be https or http`);
  if (url.hostname === '') throw new UsageError(flag, `${where}: no host`);
  return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
}
