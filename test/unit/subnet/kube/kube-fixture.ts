/**
 * A kube subnet manager wired to the stand-in API server through flanneld's own Kubernetes
 * client (kube-client.ts), with a kubeconfig file carrying a bearer token, as -kubeconfig-file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import type { LeaseAttrs } from '../../../../src/lease/lease.js';
import { createLogger, type Logger } from '../../../../src/log/logger.js';
import { createKubeApi } from '../../../../src/subnet/kube/kube-client.js';
import { KubeSubnetManager, type KubeSubnetManagerOptions } from '../../../../src/subnet/kube/kube-subnet-manager.js';
import type { LeaseWatchResult } from '../../../../src/subnet/subnet-manager.js';
import { FakeKubeApiServer, type FakeKubeApiServerOptions } from '../../../fakes/kube-api-server/kube-api-server.js';
import { poll } from '../../../support/poll.js';

export const TOKEN = 'flannel-token';
export const USER = 'system:serviceaccount:kube-flannel:flannel';
export const PREFIX = 'flannel.alpha.coreos.com/';
export const NET_CONF = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };

/** A logger that keeps its lines, for asserting on what the manager said. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ verbosity: 2, sink: { write: (l) => lines.push(l) } });
  return Object.assign(log, { lines });
}

export function vxlanAttrs(ip: string, mac = '5a:9b:6c:cc:33:80', v6?: { ip: string; mac: string }): LeaseAttrs {
  return {
    publicIP: IPAddress.parse(ip),
    publicIPv6: v6 ? IPAddress.parse(v6.ip) : undefined,
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: mac },
    backendV6Data: v6 ? { VNI: 1, VtepMAC: v6.mac } : undefined,
  };
}

/** The annotations a flannel node with this public IP and MAC carries. */
export function peerAnnotations(ip: string, mac: string): Record<string, string> {
  return {
    [`${PREFIX}backend-data`]: `{"VNI":1,"VtepMAC":"${mac}"}`,
    [`${PREFIX}backend-type`]: 'vxlan',
    [`${PREFIX}kube-subnet-manager`]: 'true',
    [`${PREFIX}public-ip`]: ip,
  };
}

export class KubeFixture {
  readonly server: FakeKubeApiServer;
  readonly dir: string;
  readonly managers: KubeSubnetManager[] = [];
  readonly ac = new AbortController();

  private constructor(server: FakeKubeApiServer, dir: string) {
    this.server = server;
    this.dir = dir;
  }

  static async start(opts: FakeKubeApiServerOptions = {}): Promise<KubeFixture> {
    const server = new FakeKubeApiServer({ tokens: { [TOKEN]: USER }, ...opts });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'kube-sm-'));
    const fx = new KubeFixture(server, dir);
    await fx.writeNetConf(NET_CONF);
    await fx.writeKubeconfig(TOKEN);
    return fx;
  }

  get netConfPath(): string {
    return join(this.dir, 'net-conf.json');
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'kubeconfig');
  }

  async writeNetConf(conf: unknown): Promise<void> {
    await writeFile(this.netConfPath, typeof conf === 'string' ? conf : JSON.stringify(conf));
  }

  /** A kubeconfig (JSON is YAML) with the server's URL and a bearer token. */
  async writeKubeconfig(token: string, path = this.kubeconfigPath): Promise<string> {
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.server.url } }],
      users: [{ name: 'flannel', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'flannel' } }],
      'current-context': 'fake',
    };
    await writeFile(path, JSON.stringify(kubeconfig));
    return path;
  }

  /** A manager for `nodeName` (getNetworkConfig already called unless `noConfig`). */
  async manager(nodeName: string, extra: Partial<KubeSubnetManagerOptions> & { kubeconfig?: string; noConfig?: boolean } = {}): Promise<KubeSubnetManager> {
    const api = await createKubeApi({ kubeconfigFile: extra.kubeconfig ?? this.kubeconfigPath, requestTimeoutMs: 5000 });
    const sm = new KubeSubnetManager({
      api,
      nodeName,
      netConfPath: this.netConfPath,
      annotationPrefix: 'flannel.alpha.coreos.com',
      setNodeNetworkUnavailable: true,
      knownBackends: ['vxlan', 'host-gw', 'alloc'],
      logger: memoryLogger(),
      syncTimeoutMs: 5000,
      nodeWaitMs: 5000,
      reconcileDelayMs: 20,
      informer: { minWatchTimeoutSec: 30, listBackoff: { initialMs: 20, maxMs: 200 }, watchBackoff: { initialMs: 20, maxMs: 200 } },
      ...extra,
    });
    this.managers.push(sm);
    if (!extra.noConfig) await sm.getNetworkConfig(AbortSignal.timeout(5000));
    return sm;
  }

  annotations(name: string): Record<string, string> {
    return this.server.store.get(name)?.metadata.annotations ?? {};
  }

  async close(): Promise<void> {
    this.ac.abort();
    for (const m of this.managers) m.close();
    await this.server.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Reads watchLeases results in the background; `take` waits (bounded) for one matching. */
export class WatchReader {
  readonly results: LeaseWatchResult[] = [];
  private readonly done: Promise<void>;

  constructor(gen: AsyncIterable<LeaseWatchResult>) {
    this.done = (async () => {
      for await (const r of gen) this.results.push(r);
    })();
    this.done.catch(() => {});
  }

  /** The index the next result will have: pass it to waitFor to look only at later ones. */
  mark(): number {
    return this.results.length;
  }

  async waitFor(what: string, pred: (r: LeaseWatchResult) => boolean, from = 0, timeoutMs = 5000): Promise<LeaseWatchResult> {
    return poll(() => this.results.slice(from).find(pred), { what, timeoutMs, intervalMs: 10 });
  }
}
