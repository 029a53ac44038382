/**
 * Builds the kube subnet manager. The Kubernetes client (kube-client.ts and what it uses) is
 * imported here, dynamically, so that etcd mode never loads it.
 */
import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import { StoreError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { SubnetManager } from '../subnet-manager.js';
import { annotationKeys } from './kube-annotations.js';
import { KubeErrorCode, type KubeApi } from './kube-api.js';
import type { KubeConnectionOptions } from './kube-connection.js';
import { watchProbeFromEnv } from './watch-silence-probe.js';

export interface CreateKubeManagerOptions {
  readonly connection: KubeConnectionOptions;
  /** NODE_NAME, POD_NAME and POD_NAMESPACE from the environment; FLANNEL_KUBE_WATCH_PROBE_SEC and _TIMEOUT_SEC. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly netConfPath: string;
  readonly annotationPrefix: string;
  readonly setNodeNetworkUnavailable: boolean;
  readonly knownBackends: readonly string[];
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** flannel_store_*{store="kube"} */
  readonly metrics?: StoreMetrics;
}

/**
 * The node this agent runs on: NODE_NAME, else the pod POD_NAMESPACE/POD_NAME's spec.nodeName
 * (one GET of the pod), as flannel finds it.
 */
export async function resolveNodeName(api: KubeApi, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal): Promise<string> {
  const nodeName = env['NODE_NAME'];
  if (nodeName) return nodeName;
  const pod = env['POD_NAME'];
  const ns = env['POD_NAMESPACE'];
  if (!pod || !ns) {
    throw new StoreError(KubeErrorCode.config, 'environment', 'NODE_NAME is not set, nor POD_NAME and POD_NAMESPACE: cannot tell which node this is (set NODE_NAME from spec.nodeName with the downward API)', {
      retryable: false,
    });
  }
  const fromPod = await api.readPodNodeName(ns, pod, signal);
  if (!fromPod) {
    throw new StoreError(KubeErrorCode.config, `${api.server}/api/v1/namespaces/${ns}/pods/${pod}`, `pod ${ns}/${pod} has no spec.nodeName`, { retryable: false });
  }
  return fromPod;
}

export async function createKubeSubnetManager(o: CreateKubeManagerOptions): Promise<SubnetManager> {
  annotationKeys(o.annotationPrefix); // a bad -kube-annotation-prefix fails before any request
  const probe = watchProbeFromEnv(o.env); // and so does a bad FLANNEL_KUBE_WATCH_PROBE_*
  const [{ createKubeApi }, { KubeSubnetManager }] = await Promise.all([import('./kube-client.js'), import('./kube-subnet-manager.js')]);
  const api = await createKubeApi(o.connection, o.metrics);
  try {
    const nodeName = await resolveNodeName(api, o.env, o.signal ?? AbortSignal.timeout(60_000));
    o.logger.info(`kube subnet manager for node ${JSON.stringify(nodeName)} at ${api.server}`);
    return new KubeSubnetManager({
      api,
      nodeName,
      netConfPath: o.netConfPath,
      annotationPrefix: o.annotationPrefix,
      setNodeNetworkUnavailable: o.setNodeNetworkUnavailable,
      knownBackends: o.knownBackends,
      logger: o.logger,
      informer: { metrics: o.metrics, ...probe },
    });
  } catch (err) {
    api.close();
    throw err;
  }
}
