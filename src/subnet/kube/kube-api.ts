/**
 * The Kubernetes API as the kube subnet manager uses it: four calls, no more. Implemented over
 * @kubernetes/client-node in kube-client.ts (loaded only in kube mode); errors arrive already
 * translated into StoreError with the codes below.
 */

/** One watch event line: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

export interface NodeListResult {
  /** Node objects (the client library's V1Node or plain JSON; read through projectNode). */
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export interface KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** GET /api/v1/nodes (one request, no paging). `resourceVersion` "0" lets the server answer from its cache. */
  listNodes(opts: { resourceVersion?: string | undefined; signal: AbortSignal }): Promise<NodeListResult>;
  /**
   * GET /api/v1/nodes?watch=true&resourceVersion=..&allowWatchBookmarks=true&timeoutSeconds=..;
   * calls onEvent per line; resolves when the server ends the stream, rejects on an HTTP error.
   */
  watchNodes(
    opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: WatchEvent) => void,
  ): Promise<void>;
  /** PATCH /api/v1/nodes/{name}/status, application/strategic-merge-patch+json; resolves to the node. */
  patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<unknown>;
  /** GET /api/v1/namespaces/{namespace}/pods/{name}; resolves to the pod's spec.nodeName ('' if unset). */
  readPodNodeName(namespace: string, name: string, signal: AbortSignal): Promise<string>;
  close(): void;
}

/** A permission the agent needs: an RBAC verb on a resource of the core API group (""). */
export interface KubeApiCall {
  readonly verb: 'get' | 'list' | 'watch' | 'patch';
  readonly apiGroup: '';
  readonly resource: string;
  readonly path: string;
  readonly why: string;
  /** The call is made only when this environment variable is unset (manifests that set it need no grant). */
  readonly unlessEnv?: 'NODE_NAME';
}

/**
 * Every API call the agent makes, for the RBAC rules in deploy/ (test/unit/deploy checks that
 * the ClusterRole grants exactly these). Keep in step with KubeApi.
 */
export const KUBE_API_CALLS: readonly KubeApiCall[] = Object.freeze([
  { verb: 'get', apiGroup: '', resource: 'pods', path: '/api/v1/namespaces/{namespace}/pods/{name}', why: 'find the node from POD_NAME/POD_NAMESPACE', unlessEnv: 'NODE_NAME' },
  { verb: 'list', apiGroup: '', resource: 'nodes', path: '/api/v1/nodes', why: 'read every node (pod CIDRs, flannel annotations)' },
  { verb: 'watch', apiGroup: '', resource: 'nodes', path: '/api/v1/nodes?watch=true', why: 'follow node changes (peers joining, leaving, changing)' },
  { verb: 'patch', apiGroup: '', resource: 'nodes/status', path: '/api/v1/nodes/{name}/status', why: "publish this node's annotations and its NetworkUnavailable condition" },
]);

/** StoreError codes of the kube adapter. */
export const KubeErrorCode = {
  /** 401: no or bad credentials. */
  unauthorized: 'ERR_KUBE_UNAUTHORIZED',
  /** 403: RBAC denies the call. */
  forbidden: 'ERR_KUBE_FORBIDDEN',
  notFound: 'ERR_KUBE_NOT_FOUND',
  /** 410 Gone / Expired: the watch's resource version is too old; re-list. */
  expired: 'ERR_KUBE_EXPIRED',
  /** Any other HTTP error status. */
  http: 'ERR_KUBE_HTTP',
  /** No answer: connection refused, reset, DNS, TLS, timeout. */
  unreachable: 'ERR_KUBE_UNREACHABLE',
  /** This node is missing from the API or has no pod CIDR yet (retryable). */
  nodeNotReady: 'ERR_KUBE_NODE_NOT_READY',
  /** The client could not be configured (kubeconfig, in-cluster files). */
  config: 'ERR_KUBE_CONFIG',
} as const;
