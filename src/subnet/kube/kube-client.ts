/**
 * KubeApi over @kubernetes/client-node 1.x: the only module that imports the client library,
 * loaded (dynamically, by create-kube-manager.ts) only in kube mode. The connection is built as
 * Go flannel's clientcmd.BuildConfigFromFlags does: -kubeconfig-file (its server replaced by
 * -kube-api-url when both are given), else -kube-api-url alone (no credentials), else the
 * in-cluster service account (KUBERNETES_SERVICE_HOST/PORT, token and CA files). Library errors
 * are translated here, once, into StoreError.
 */
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiException, CoreV1Api, type RequestContext, type ResponseContext } from '@kubernetes/client-node/dist/gen/index.js';
import { of } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { FlannelError, StoreError, UsageError, errorMessage } from '../../errors.js';
import { KubeErrorCode, type KubeApi, type NodeListResult, type WatchEvent } from './kube-api.js';

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
  /** Bound of one request (not of a watch); default 30 s, the node list 60 s. */
  readonly requestTimeoutMs?: number | undefined;
}

/** Builds the KubeConfig as Go's BuildConfigFromFlags(apiUrl, kubeconfig) would. */
export function buildKubeConfig(o: KubeConnectionOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfigFile) {
    try {
      kc.loadFromFile(o.kubeconfigFile);
    } catch (err) {
      throw new UsageError('kubeconfig-file', `-kubeconfig-file=${JSON.stringify(o.kubeconfigFile)}: ${errorMessage(err)}`, { cause: err });
    }
    const current = kc.getCurrentCluster();
    if (!current) throw new UsageError('kubeconfig-file', `-kubeconfig-file=${JSON.stringify(o.kubeconfigFile)}: no current context with a cluster`);
    if (o.apiUrl) kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: o.apiUrl as string } : c));
  } else if (o.apiUrl) {
    kc.loadFromOptions({
      clusters: [{ name: 'flanneld', server: o.apiUrl, skipTLSVerify: false }],
      users: [{ name: 'flanneld' }],
      contexts: [{ name: 'flanneld', cluster: 'flanneld', user: 'flanneld' }],
      currentContext: 'flanneld',
    });
  } else {
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
    const host = isIPv6(o.serviceHost) ? `[${o.serviceHost}]` : o.serviceHost;
    kc.loadFromOptions({
      clusters: [{ name: 'in-cluster', server: `https://${host}:${o.servicePort}`, caFile: `${dir}/ca.crt`, skipTLSVerify: false }],
      // The token file is read again every minute (bound service account tokens rotate).
      users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } }],
      contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
      currentContext: 'in-cluster',
    });
  }
  // Go's client speaks plain HTTP to an http:// server; this library refuses unless TLS
  // verification is off, which means nothing without TLS.
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c));
  return kc;
}

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

/** Call options: the request's signal (with a time bound) and optionally a Content-Type. */
function callOptions(signal: AbortSignal, timeoutMs: number, contentType?: string) {
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(bounded);
          if (contentType) ctx.setHeaderParam('Content-Type', contentType);
          return of(ctx);
        },
        post: (res: ResponseContext) => of(res),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  };
}

/** The message of a Kubernetes Status body, if the body is one. */
function statusMessage(body: unknown): string | undefined {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 300) || undefined;
    }
  }
  if (b && typeof b === 'object' && typeof (b as { message?: unknown }).message === 'string') return (b as { message: string }).message;
  return undefined;
}

const HTTP_CODES: Record<number, string> = {
  401: KubeErrorCode.unauthorized,
  403: KubeErrorCode.forbidden,
  404: KubeErrorCode.notFound,
  410: KubeErrorCode.expired,
};

/** One StoreError for an HTTP status: 5xx, 429 and 409 are worth retrying; 401/403/404 are not. */
export function httpError(endpoint: string, what: string, status: number, detail: string | undefined, cause?: unknown): StoreError {
  const hint =
    status === 403
      ? ' (the ClusterRole bound to flanneld\'s service account must allow it; see deploy/kube-flannel-ts.yml)'
      : status === 401
        ? ' (no valid credentials: check the service account token or -kubeconfig-file)'
        : '';
  return new StoreError(HTTP_CODES[status] ?? KubeErrorCode.http, endpoint, `${what}: HTTP ${status}${detail ? `: ${detail}` : ''}${hint}`, {
    retryable: status >= 500 || status === 429 || status === 409 || status === 410,
    status,
    cause,
  });
}

/** Translates what the library threw into a StoreError; the caller's abort passes through. */
function translate(err: unknown, endpoint: string, what: string, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? err;
  if (err instanceof FlannelError) return err;
  if (err instanceof ApiException) return httpError(endpoint, what, err.code, statusMessage(err.body), err);
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') return httpError(endpoint, what, status, errorMessage(err), err);
  const name = (err as { name?: unknown }).name;
  const reason = name === 'AbortError' ? 'timed out' : errorMessage(err);
  return new StoreError(KubeErrorCode.unreachable, endpoint, `${what}: ${reason}`, { retryable: true, cause: err });
}

/** The KubeApi of flannel-ts over the client library. */
export class ClientNodeKubeApi implements KubeApi {
  readonly server: string;
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  private readonly kc: KubeConfig;
  private readonly timeoutMs: number;

  constructor(kc: KubeConfig, opts: { requestTimeoutMs?: number | undefined } = {}) {
    this.kc = kc;
    this.server = (kc.getCurrentCluster()?.server ?? '(no server)').replace(/\/+$/, '');
    this.core = kc.makeApiClient(CoreV1Api);
    this.watcher = new Watch(kc);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /**
   * The node list is read as plain JSON, not through the generated CoreV1Api: its typed
   * deserialisation copies every Node once more, which at 5,000 nodes doubles the start-up peak
   * of memory. Connection, TLS and credentials still come from the library's KubeConfig.
   */
  async listNodes(opts: { resourceVersion?: string | undefined; signal: AbortSignal }): Promise<NodeListResult> {
    const url = new URL(`${this.server}/api/v1/nodes`);
    if (opts.resourceVersion !== undefined) url.searchParams.set('resourceVersion', opts.resourceVersion);
    const endpoint = `${this.server}/api/v1/nodes`;
    const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(this.timeoutMs * 2)]);
    try {
      const { status, body } = await this.getJSON(url, signal);
      if (status !== 200) throw httpError(endpoint, 'list nodes', status, statusMessage(body));
      const list = JSON.parse(body) as { items?: unknown[]; metadata?: { resourceVersion?: string } };
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    } catch (err) {
      throw translate(err, endpoint, 'list nodes', opts.signal);
    }
  }

  private async getJSON(url: URL, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const reqOpts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json' }, signal };
    await this.kc.applyToHTTPSOptions(reqOpts);
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, reqOpts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async watchNodes(
    opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: WatchEvent) => void,
  ): Promise<void> {
    const endpoint = `${this.server}/api/v1/nodes?watch=true`;
    const { signal } = opts;
    signal.throwIfAborted();
    let controller: AbortController | undefined;
    const onAbort = () => controller?.abort();
    try {
      await new Promise<void>((resolve, reject) => {
        const params = { resourceVersion: opts.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: opts.timeoutSeconds };
        this.watcher
          .watch('/api/v1/nodes', params, (type: string, object: unknown) => onEvent({ type, object }), (err: unknown) => (err ? reject(err) : resolve()))
          .then((c) => {
            controller = c;
            if (signal.aborted) c.abort();
          }, reject);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (err) {
      throw translate(err, endpoint, 'watch nodes', signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
    }
    signal.throwIfAborted();
  }

  async patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<unknown> {
    const endpoint = `${this.server}/api/v1/nodes/${name}/status`;
    try {
      return await this.core.patchNodeStatus({ name, body: patch }, callOptions(signal, this.timeoutMs, STRATEGIC_MERGE));
    } catch (err) {
      throw translate(err, endpoint, `patch node ${JSON.stringify(name)} status`, signal);
    }
  }

  async readPodNodeName(namespace: string, name: string, signal: AbortSignal): Promise<string> {
    const endpoint = `${this.server}/api/v1/namespaces/${namespace}/pods/${name}`;
    try {
      const pod = await this.core.readNamespacedPod({ namespace, name }, callOptions(signal, this.timeoutMs));
      return pod.spec?.nodeName ?? '';
    } catch (err) {
      throw translate(err, endpoint, `get pod ${namespace}/${name}`, signal);
    }
  }

  close(): void {
    // Requests carry their own signals; the library keeps no connection of ours open.
  }
}

/** Builds the client from flanneld's options. */
export function createKubeApi(o: KubeConnectionOptions): KubeApi {
  return new ClientNodeKubeApi(buildKubeConfig(o), { requestTimeoutMs: o.requestTimeoutMs });
}
