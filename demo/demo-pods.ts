/**
 * The demo's pods: two per host, attached as a container runtime would, through the flannel
 * CNI plugin (bin/flannel, run in the host's namespace, delegating to Debian's bridge and
 * host-local), then the cross-host ping matrix.
 */
import { attachCniPod } from '../test/cluster/cni-pods.js';
import type { Cluster } from '../test/cluster/harness.js';
import type { Pod } from '../test/cluster/pods.js';
import type { Say } from './demo-down.js';
import { formatPingMatrix, formatPodTable, pingMatrix } from './ping-matrix.js';

export const PODS_PER_HOST = 2;

/** Pod names: pod1a, pod1b on host 1, and so on. */
export function podName(host: number, k: number): string {
  return `pod${host}${String.fromCharCode(97 + k)}`;
}

/** Attaches the pods one by one, saying what each got; `onPod` records each as it comes. */
export async function attachDemoPods(c: Cluster, hosts: readonly number[], say: Say, onPod: (pod: Pod) => Promise<void>): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (const i of hosts) {
    for (let k = 0; k < PODS_PER_HOST; k++) {
      const name = podName(i, k);
      const t0 = performance.now();
      const pod = await attachCniPod(c, i, name);
      const ms = performance.now() - t0;
      say(`  ${name} on host ${i}: CNI ADD gave it ${pod.v4 ? `${pod.v4.ip}/${pod.v4.prefixLength} via ${pod.v4.gateway}` : 'no IPv4 address'}, MTU ${pod.mtu} (${ms.toFixed(0)} ms)`);
      pods.push(pod);
      await onPod(pod);
    }
  }
  return pods;
}

/** Prints the pods and the ping matrix. */
export async function showPods(pods: readonly Pod[], backend: string, say: Say, signal: AbortSignal): Promise<void> {
  process.stdout.write('\n' + formatPodTable(pods) + '\n');
  say(`pinging every pod from every other pod (3 pings each, after a first reply; ${backend} between hosts)`);
  const cells = await pingMatrix(pods, signal);
  process.stdout.write('\n' + formatPingMatrix(pods, cells) + '\n');
  const pairs = cells.flat().filter((c) => c !== undefined);
  const lost = pairs.filter((c) => !c.ok).length;
  say(lost === 0 ? `all ${pairs.length} pod pairs reach each other` : `${lost} of ${pairs.length} pod pairs did not reach each other${backend === 'alloc' ? ' (the alloc backend programs no data path)' : ''}`);
}
