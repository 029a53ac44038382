/**
 * The Kubernetes API as the kube subnet manager uses it: four calls, no more. Implemented over
 * Node's HTTP in kube-client.ts (loaded only in kube mode); errors arrive already translated
 * into StoreError with the codes below.
 */

/** One watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
export interface WatchEvent {
  readonly type: string;
  /**
   * Only what flanneld reads of it: metadata.name, metadata.resourceVersion,
   * metadata.annotations, spec.podCIDR(s); for ERROR, the Status's code, reason and message.
   */
  readonly object: unknown;
}

/**
 * One node of a list, as far as flanneld reads it: { metadata: { name, resourceVersion,
 * annotations }, spec: { podCIDR, podCIDRs } } (read through projectNode).
 */
export type ListedNode = Readonly<Record<string, unknown>>;

export interface NodeListResult {
  readonly resourceVersion: string;
  /** Items delivered to onItem. */
  readonly count: number;
}

export interface KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  /**
   * GET /api/v1/nodes (one request, no paging), read as it streams in: each item goes to
   * onItem as soon as it is complete and is not kept. `resourceVersion` "0" lets the server
   * answer from its cache.
   */
  listNodes(opts: { resourceVersion?: string | undefined; signal: AbortSignal }, onItem: (item: ListedNode) => void): Promise<NodeListResult>;
  /**
   * GET /api/v1/nodes?watch=true&resourceVersion=..&allowWatchBookmarks=true&timeoutSeconds=..;
   * calls onEvent per event; resolves when the server ends the stream, rejects on an HTTP
   * error or a broken connection.
   */
  watchNodes(
    opts: {
      resourceVersion: string;
      timeoutSeconds: number;
      signal: AbortSignal;
      /** On a new connection, not a kept-alive one (a renewal, a re-open after a failure). */
      fresh?: boolean;
      /** Called once the response's head is in (HTTP 200), before the first event. */
      onOpen?: () => void;
    },
    onEvent: (event: WatchEvent) => void,
  ): Promise<void>;
  /** PATCH /api/v1/nodes/{name}/status, application/strategic-merge-patch+json. */
  patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<void>;
  /** GET /api/v1/namespaces/{namespace}/pods/{name}; resolves to the pod's spec.nodeName ('' if unset). */
  readPodNodeName(namespace: string, name: string, signal: AbortSignal): Promise<string>;
  /** Closes kept-alive connections. */
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
