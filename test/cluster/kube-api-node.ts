/**
 * The stand-in Kubernetes API server (test/fakes/kube-api-server) as a node of the test
 * cluster: a namespace `<prefix>kapi` on the underlay at 192.168.77.3, whose listening socket
 * on :6443 is served by a FakeKubeApiServer in the test process (see netns-listener.ts), so
 * tests drive the API (nodes, faults) directly while agents in host namespaces reach it at
 * http://192.168.77.3:6443. Also writes what a kube-mode agent needs: a kubeconfig with a
 * bearer token and a net-conf.json.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../support/command.js';
import { listenInNetns } from '../support/netns-listener.js';
import { FakeKubeApiServer, type FakeKubeApiServerOptions } from '../fakes/kube-api-server/kube-api-server.js';
import type { Cluster } from './harness.js';
import { UNDERLAY_V4, nodeAddress } from './underlay.js';

export const KUBE_API_SUFFIX = 3;
export const KUBE_API_PORT = 6443;
export const KUBE_API_URL = `http://${nodeAddress(KUBE_API_SUFFIX)}:${KUBE_API_PORT}`;
export const KUBE_TOKEN = 'flannel-ts-e2e-token';

export interface ClusterKubeApi {
  readonly server: FakeKubeApiServer;
  readonly ns: string;
  readonly url: string;
  /** A kubeconfig for agents (server KUBE_API_URL, bearer token KUBE_TOKEN). */
  readonly kubeconfigFile: string;
  readonly netConfFile: string;
  writeNetConf(conf: unknown): Promise<void>;
}

/**
 * Creates the API server's namespace and wires it to the underlay bridge. Equivalent to:
 *   ip netns add <p>kapi
 *   ip -n <p>ul link add <p>kapib type veth peer name <p>kapi netns <p>kapi
 *   ip -n <p>ul link set <p>kapib master <p>br0 up
 *   ip -n <p>kapi addr add 192.168.77.3/24 dev <p>kapi; ip -n <p>kapi link set <p>kapi up; lo up
 */
export async function startClusterKubeApi(cluster: Cluster, opts: FakeKubeApiServerOptions = {}): Promise<ClusterKubeApi> {
  const ns = await cluster.createExtraNamespace('kapi');
  const signal = cluster.signal;
  const batch = (n: string, lines: string[]) => run(['ip', '-n', n, '-batch', '-'], { input: lines.join('\n') + '\n', signal });
  await batch(cluster.underlayNs, [`link add ${ns}b type veth peer name ${ns} netns ${ns}`, `link set ${ns}b master ${cluster.bridge}`, `link set ${ns}b up`]);
  await batch(ns, ['link set lo up', `addr add ${nodeAddress(KUBE_API_SUFFIX)}/${UNDERLAY_V4.len} dev ${ns}`, `link set ${ns} up`]);
  const handle = await listenInNetns(ns, nodeAddress(KUBE_API_SUFFIX), KUBE_API_PORT, { signal });
  const server = new FakeKubeApiServer({ tokens: { [KUBE_TOKEN]: 'system:serviceaccount:kube-flannel:flannel' }, bookmarkIntervalMs: 1000, ...opts });
  const url = await server.listen({ handle, host: nodeAddress(KUBE_API_SUFFIX) });
  signal.addEventListener('abort', () => void server.close(), { once: true });
  const kubeconfigFile = join(cluster.tmpDir, 'kubeconfig');
  await writeKubeconfig(kubeconfigFile, url);
  const netConfFile = join(cluster.tmpDir, 'net-conf.json');
  const writeNetConf = (conf: unknown) => writeFile(netConfFile, JSON.stringify(conf));
  return { server, ns, url, kubeconfigFile, netConfFile, writeNetConf };
}

/** Writes a kubeconfig for agents: server `url`, bearer token KUBE_TOKEN. */
export async function writeKubeconfig(file: string, url: string): Promise<void> {
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: url } }],
      users: [{ name: 'flannel', user: { token: KUBE_TOKEN } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'flannel' } }],
      'current-context': 'e2e',
    }),
  );
}

/** The agent arguments for kube mode (appended after the harness defaults). */
export function kubeAgentArgs(api: ClusterKubeApi, extra: string[] = []): string[] {
  return ['-kube-subnet-mgr', `-kubeconfig-file=${api.kubeconfigFile}`, `-net-config-path=${api.netConfFile}`, ...extra];
}
