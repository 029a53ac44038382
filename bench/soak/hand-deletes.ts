/**
 * Kernel entries of simulated peers deleted by hand inside an agent's namespace, as an
 * operator or another program might: one route, neighbour or FDB entry on flannel.1 at random.
 */
import type { Cluster } from '../../test/cluster/harness.js';
import { VXLAN_DEV, kernelLines, type DriftKind } from './kernel-drift.js';

/** Simulated peers own 10.0.<i>.0/24; the real agents' subnets are elsewhere (SubnetMin 10.1.0.0). */
const SIMULATED = /^10\.0\.\d+\.0\b/;
/** Their VtepMACs: 0a:fe:… at first, 0a:fd:… after a change (lease-churn.ts). */
const SIMULATED_MAC = /^0a:f[de]:/;

export class HandDeletes {
  readonly counts: Record<DriftKind, number> = { routes: 0, neigh: 0, fdb: 0 };
  /** Picks that found nothing to delete or whose delete failed (the entry changed meanwhile). */
  misses = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly hosts: readonly number[],
    private readonly random: () => number,
  ) {}

  #choose<T>(xs: readonly T[]): T | undefined {
    return xs[Math.floor(this.random() * xs.length)];
  }

  /** Deletes one simulated peer's entry of a random kind on a random agent. */
  async once(signal: AbortSignal): Promise<void> {
    const host = this.#choose(this.hosts);
    const kind = this.#choose<DriftKind>(['routes', 'neigh', 'fdb']);
    if (host === undefined || kind === undefined) return;
    const have = await kernelLines(this.cluster, host, [kind]);
    const line = this.#choose([...have[kind]].filter((l) => (kind === 'fdb' ? SIMULATED_MAC : SIMULATED).test(l)));
    if (line === undefined) {
      this.misses++;
      return;
    }
    const t = line.split(' ');
    const argv =
      kind === 'routes'
        ? ['ip', 'route', 'del', t[0] ?? '', 'dev', VXLAN_DEV]
        : kind === 'neigh'
          ? ['ip', 'neigh', 'del', t[0] ?? '', 'dev', VXLAN_DEV]
          : ['bridge', 'fdb', 'del', t[0] ?? '', 'dev', VXLAN_DEV, 'dst', t[2] ?? ''];
    const res = await this.cluster.exec(host, argv, { allowFailure: true, signal, timeoutMs: 10_000 });
    if (res.exitCode === 0) this.counts[kind]++;
    else this.misses++;
  }
}
