/**
 * CtlStore over the Kubernetes API (-kube-subnet-mgr), through flannel-ts's own client pieces
 * (kube-connection, kube-credentials, kube-http) and flannel's node annotations: a lease is a
 * node's spec.podCIDR(s) plus its `<prefix>public-ip`, `backend-type`, `backend-data`, ...
 * annotations. The network config is net-conf.json at -net-config-path (read-only here: it is a
 * ConfigMap). There are no reservations and no TTLs in kube mode.
 */
import { readFile } from 'node:fs/promises';
import { parseNetworkConfig, type NetworkConfig } from '../config/network-config.js';
import { errorMessage } from '../errors.js';
import { allKeys, annotationKeys, type AnnotationKeys } from '../subnet/kube/kube-annotations.js';
import { nodeSubnets, nodeToLease, projectNode } from '../subnet/kube/kube-node.js';
import type { CtlOptions, CtlStore, LeaseListing, SkippedNode, StoreLease, StoredConfig } from './ctl-context.js';
import { UnsupportedError } from './ctl-errors.js';

/** The two requests the store makes; KubeHttp-backed in openKubeStore, a fake in tests. */
export interface KubeStoreClient {
  readonly server: string;
  /** GET path; the parsed JSON body (throws a StoreError on a non-2xx answer). */
  getJSON(path: string, signal: AbortSignal): Promise<unknown>;
  /** PATCH path (strategic merge patch). */
  patch(path: string, body: object, signal: AbortSignal): Promise<void>;
  close(): void;
}

export async function openKubeStore(options: CtlOptions, env: Readonly<Record<string, string | undefined>>, _signal: AbortSignal): Promise<CtlStore> {
  const keys = annotationKeys(options.kube.annotationPrefix);
  const [{ resolveKubeConnection }, { credentialSource }, { KubeHttp, readText }, { httpError }] = await Promise.all([
    import('../subnet/kube/kube-connection.js'),
    import('../subnet/kube/kube-credentials.js'),
    import('../subnet/kube/kube-http.js'),
    import('../subnet/kube/kube-client.js'),
  ]);
  const conn = await resolveKubeConnection({
    apiUrl: options.kube.apiUrl,
    kubeconfigFile: options.kube.kubeconfigFile,
    serviceHost: env['KUBERNETES_SERVICE_HOST'],
    servicePort: env['KUBERNETES_SERVICE_PORT'],
  });
  const http = new KubeHttp(conn, credentialSource(conn.auth, { execTimeoutMs: 30_000 }));
  const bounded = (signal: AbortSignal) => AbortSignal.any([signal, AbortSignal.timeout(60_000)]);
  const client: KubeStoreClient = {
    server: conn.server,
    async getJSON(path, signal) {
      const res = await http.open({ method: 'GET', path, signal: bounded(signal) });
      const text = await readText(res, 256 << 20);
      if (res.statusCode !== 200) throw httpError(`${conn.server}${path}`, `GET ${path}`, res.statusCode ?? 0, text.slice(0, 300));
      return JSON.parse(text) as unknown;
    },
    async patch(path, body, signal) {
      const res = await http.open({ method: 'PATCH', path, body: JSON.stringify(body), contentType: 'application/strategic-merge-patch+json', signal: bounded(signal) });
      const text = await readText(res, 64 << 10);
      if (res.statusCode !== 200) throw httpError(`${conn.server}${path}`, `PATCH ${path}`, res.statusCode ?? 0, text.slice(0, 300));
    },
    close: () => http.close(),
  };
  return new KubeCtlStore(client, keys, options.kube.netConfigPath);
}

interface RawCondition {
  type?: unknown;
  status?: unknown;
  lastTransitionTime?: unknown;
}

export class KubeCtlStore implements CtlStore {
  readonly kind = 'kube';
  readonly reservations = undefined;
  readonly where: string;

  constructor(
    private readonly client: KubeStoreClient,
    private readonly keys: AnnotationKeys,
    private readonly netConfPath: string,
  ) {
    this.where = client.server;
  }

  async listLeases(signal: AbortSignal): Promise<LeaseListing> {
    const config = await this.readConfig(signal);
    const list = (await this.client.getJSON('/api/v1/nodes', signal)) as { items?: unknown };
    const items = Array.isArray(list.items) ? (list.items as unknown[]) : [];
    const leases: StoreLease[] = [];
    const skipped: SkippedNode[] = [];
    const names = allKeys(this.keys);
    for (const item of items) {
      const node = projectNode(item, names);
      if (!node) continue;
      // Without net-conf.json here, each node's families are what its podCIDRs hold.
      let cfg = config;
      if (!cfg) {
        let nets;
        try {
          nets = nodeSubnets(node);
        } catch (err) {
          skipped.push({ node: node.name, reason: errorMessage(err) });
          continue;
        }
        cfg = { enableIPv4: nets.v4 !== undefined, enableIPv6: nets.v6 !== undefined && nets.v4 === undefined } as NetworkConfig;
      }
      const r = nodeToLease(node, this.keys, cfg);
      if ('skip' in r) {
        skipped.push({ node: node.name, reason: r.skip });
        continue;
      }
      leases.push({ lease: r.lease, key: `node/${node.name}`, node: node.name, reserved: false, ready: readyCondition(item) });
    }
    return { leases, skipped };
  }

  async getConfig(signal: AbortSignal): Promise<StoredConfig | undefined> {
    try {
      return { text: await readFile(this.netConfPath, { encoding: 'utf8', signal }), source: `file ${this.netConfPath}` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  putConfig(): Promise<StoredConfig> {
    return Promise.reject(
      new UnsupportedError(
        'kube',
        `config set: in kube mode flanneld reads the network config from -net-config-path (${this.netConfPath}), mounted from a ConfigMap: ` +
          'validate the document with "flannelctl config validate <file>", then edit the ConfigMap (kubectl -n kube-flannel edit configmap kube-flannel-ts-cfg) and restart the agents',
      ),
    );
  }

  /** Removes flannel's annotations from the node (strategic merge: null deletes a key). */
  async removeLease(l: StoreLease, signal: AbortSignal): Promise<boolean> {
    if (l.node === undefined) return false;
    const annotations: Record<string, null> = {};
    for (const k of allKeys(this.keys)) {
      if (k !== this.keys.publicIPOverwrite && k !== this.keys.publicIPv6Overwrite) annotations[k] = null;
    }
    await this.client.patch(`/api/v1/nodes/${encodeURIComponent(l.node)}/status`, { metadata: { annotations } }, signal);
    return true;
  }

  close(): void {
    this.client.close();
  }

  /** net-conf.json validated as flanneld does in kube mode, or undefined when it is not here. */
  private async readConfig(signal: AbortSignal): Promise<NetworkConfig | undefined> {
    const stored = await this.getConfig(signal);
    if (!stored) return undefined;
    return parseNetworkConfig(stored.text, { checkSubnetRanges: false });
  }
}

/** The node's Ready condition: "True", "False" or "Unknown" and since when. */
function readyCondition(item: unknown): StoreLease['ready'] {
  const conds = (item as { status?: { conditions?: unknown } }).status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  const ready = (conds as RawCondition[]).find((c) => c.type === 'Ready');
  if (!ready || typeof ready.status !== 'string') return undefined;
  const t = typeof ready.lastTransitionTime === 'string' ? new Date(ready.lastTransitionTime) : undefined;
  return { status: ready.status, since: t && !Number.isNaN(t.getTime()) ? t : undefined };
}
