/**
 * KubeApi over Node's own HTTP (kube-http.ts): the four calls flanneld makes, the node list and
 * the watch read as they stream in through a JsonPicker that keeps only what the lease feed
 * needs of each node. Loaded (dynamically, by create-kube-manager.ts) only in kube mode.
 * Errors are translated here, once, into StoreError.
 *
 * It replaces @kubernetes/client-node, whose KubeConfig alone cost ~55-65 MiB of resident
 * memory to load (README, "Memory and start-up").
 */
import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import type { IncomingMessage } from 'node:http';
import { FlannelError, StoreError, errorMessage } from '../../errors.js';
import { JsonPickError, JsonPicker, type PickSpec } from './json-picker.js';
import { KubeErrorCode, type KubeApi, type ListedNode, type NodeListResult, type WatchEvent } from './kube-api.js';
import { resolveKubeConnection, type KubeConnection, type KubeConnectionOptions } from './kube-connection.js';
import { credentialSource, type CredentialSource } from './kube-credentials.js';
import { KubeHttp, readText } from './kube-http.js';

export { SERVICE_ACCOUNT_DIR, type KubeConnectionOptions } from './kube-connection.js';

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

/** What flanneld reads of a Node. */
const NODE_PICKS = {
  metadata: { name: true, resourceVersion: true, annotations: true },
  spec: { podCIDR: true, podCIDRs: true },
} as const satisfies PickSpec;

/** Of a NodeList: its resourceVersion, and each item (emitted one by one). */
const LIST_PICKS: PickSpec = { metadata: { resourceVersion: true }, items: { '*': NODE_PICKS } };

/** Of a watch event: its type, and the node (or, for ERROR, the Status). */
const WATCH_PICKS: PickSpec = { type: true, object: { ...NODE_PICKS, code: true, reason: true, message: true } };

/** The message of a Kubernetes Status body, if the body is one. */
function statusMessage(body: string): string | undefined {
  let b: unknown;
  try {
    b = JSON.parse(body);
  } catch {
    return body.trim().slice(0, 300) || undefined;
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

/** One StoreError for an HTTP status: 5xx, 429, 409 and 410 are worth retrying; 401/403/404 are not. */
export function httpError(endpoint: string, what: string, status: number, detail: string | undefined, cause?: unknown): StoreError {
  const hint =
    status === 403
      ? " (the ClusterRole bound to flanneld's service account must allow it; see deploy/kube-flannel-ts.yml)"
      : status === 401
        ? ' (no valid credentials: check the service account token or -kubeconfig-file)'
        : '';
  return new StoreError(HTTP_CODES[status] ?? KubeErrorCode.http, endpoint, `${what}: HTTP ${status}${detail ? `: ${detail}` : ''}${hint}`, {
    retryable: status >= 500 || status === 429 || status === 409 || status === 410,
    status,
    cause,
  });
}

/** Translates a failure into a StoreError; the caller's abort passes through. */
function translate(err: unknown, endpoint: string, what: string, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? err;
  if (err instanceof FlannelError) return err;
  if (err instanceof JsonPickError || err instanceof SyntaxError) {
    return new StoreError(KubeErrorCode.http, endpoint, `${what}: malformed response: ${err.message}`, { retryable: true, cause: err });
  }
  const name = (err as { name?: unknown }).name;
  const reason = name === 'AbortError' || name === 'TimeoutError' ? 'timed out' : errorMessage(err);
  return new StoreError(KubeErrorCode.unreachable, endpoint, `${what}: ${reason}`, { retryable: true, cause: err });
}

/** The KubeApi of flannel-ts. */
export class HttpKubeApi implements KubeApi {
  readonly server: string;
  private readonly http: KubeHttp;
  private readonly timeoutMs: number;

  constructor(conn: KubeConnection, opts: { requestTimeoutMs?: number | undefined; credentials?: CredentialSource; metrics?: StoreMetrics } = {}) {
    this.server = conn.server;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.http = new KubeHttp(conn, opts.credentials ?? credentialSource(conn.auth, { execTimeoutMs: this.timeoutMs }), opts.metrics);
  }

  /** An error for a non-2xx answer, from its Status body. */
  private async failed(res: IncomingMessage, endpoint: string, what: string): Promise<StoreError> {
    const body = await readText(res, 64 * 1024).catch(() => '');
    return httpError(endpoint, what, res.statusCode ?? 0, statusMessage(body));
  }

  async listNodes(opts: { resourceVersion?: string | undefined; signal: AbortSignal }, onItem: (item: ListedNode) => void): Promise<NodeListResult> {
    const endpoint = `${this.server}/api/v1/nodes`;
    const query = opts.resourceVersion === undefined ? '' : `?resourceVersion=${encodeURIComponent(opts.resourceVersion)}`;
    const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(this.timeoutMs * 2)]);
    try {
      const res = await this.http.open({ method: 'GET', path: `/api/v1/nodes${query}`, signal });
      if (res.statusCode !== 200) throw await this.failed(res, endpoint, 'list nodes');
      let count = 0;
      let doc: Record<string, unknown> | undefined;
      const picker = new JsonPicker({
        picks: LIST_PICKS,
        recordPath: ['items', '*'],
        onRecord: (item) => {
          count++;
          onItem(item);
        },
        onDocument: (d) => (doc = d),
      });
      for await (const chunk of res as AsyncIterable<Buffer>) picker.write(chunk);
      picker.end();
      const rv = (doc?.['metadata'] as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (doc === undefined) throw new JsonPickError('empty body');
      return { resourceVersion: typeof rv === 'string' ? rv : '', count };
    } catch (err) {
      throw translate(err, endpoint, 'list nodes', opts.signal);
    }
  }

  async watchNodes(
    opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal; fresh?: boolean; onOpen?: () => void },
    onEvent: (event: WatchEvent) => void,
  ): Promise<void> {
    const endpoint = `${this.server}/api/v1/nodes?watch=true`;
    const { signal } = opts;
    signal.throwIfAborted();
    const query = `?watch=true&resourceVersion=${encodeURIComponent(opts.resourceVersion)}&allowWatchBookmarks=true&timeoutSeconds=${opts.timeoutSeconds}`;
    // The request deadline covers the opening (the response's head); the stream may then be long.
    const opening = new AbortController();
    const deadline = setTimeout(() => opening.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const res = await this.http
        .open({ method: 'GET', path: `/api/v1/nodes${query}`, signal: AbortSignal.any([signal, opening.signal]), fresh: opts.fresh })
        .finally(() => clearTimeout(deadline));
      if (res.statusCode !== 200) throw await this.failed(res, endpoint, 'watch nodes');
      opts.onOpen?.();
      const picker = new JsonPicker({
        picks: WATCH_PICKS,
        onDocument: (d) => {
          if (typeof d['type'] === 'string') onEvent({ type: d['type'], object: d['object'] });
        },
      });
      for await (const chunk of res as AsyncIterable<Buffer>) picker.write(chunk);
      // A partial last event (the stream cut mid-line) is dropped, as a line-reading client would.
    } catch (err) {
      throw translate(err, endpoint, 'watch nodes', signal);
    }
    signal.throwIfAborted();
  }

  async patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<void> {
    const endpoint = `${this.server}/api/v1/nodes/${name}/status`;
    const what = `patch node ${JSON.stringify(name)} status`;
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const res = await this.http.open({ method: 'PATCH', path: `/api/v1/nodes/${encodeURIComponent(name)}/status`, body: JSON.stringify(patch), contentType: STRATEGIC_MERGE, signal: bounded });
      if (res.statusCode !== 200) throw await this.failed(res, endpoint, what);
      await readText(res, 0);
    } catch (err) {
      throw translate(err, endpoint, what, signal);
    }
  }

  async readPodNodeName(namespace: string, name: string, signal: AbortSignal): Promise<string> {
    const endpoint = `${this.server}/api/v1/namespaces/${namespace}/pods/${name}`;
    const what = `get pod ${namespace}/${name}`;
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const res = await this.http.open({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, signal: bounded });
      if (res.statusCode !== 200) throw await this.failed(res, endpoint, what);
      const pod = JSON.parse(await readText(res)) as { spec?: { nodeName?: unknown } } | null;
      const nodeName = pod?.spec?.nodeName;
      return typeof nodeName === 'string' ? nodeName : '';
    } catch (err) {
      throw translate(err, endpoint, what, signal);
    }
  }

  close(): void {
    this.http.close();
  }
}

/** Builds the client from flanneld's options (reads the kubeconfig or the service account files). */
export async function createKubeApi(o: KubeConnectionOptions, metrics?: StoreMetrics): Promise<KubeApi> {
  return new HttpKubeApi(await resolveKubeConnection(o), { requestTimeoutMs: o.requestTimeoutMs, metrics });
}
