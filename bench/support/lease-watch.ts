/**
 * The bench's own etcd watch on the network prefix, stamping each event with the moment it
 * arrived here: a lease creation or deletion becomes visible to watchers at about that moment
 * (the agents' watches are served by the same etcd at the same time).
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { poll } from '../../test/support/poll.js';
import { nowMs } from './clock.js';

export interface SeenEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  /** Wall clock (ms, sub-ms precision) when the response carrying it was read. */
  readonly at: number;
}

const NETWORK_PREFIX = '/coreos.com/network/';
/** Outside `<prefix>/subnets`, so no agent sees it. */
const PROBE_KEY = `${NETWORK_PREFIX}bench-watch-probe`;

export class LeaseWatch {
  readonly events: SeenEvent[] = [];
  readonly #client: EtcdHttpClient;
  readonly #ac = new AbortController();
  #loop: Promise<void> = Promise.resolve();

  private constructor(cluster: Cluster) {
    this.#client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
  }

  /** Opens the watch and waits (bounded) until it delivers a probe write. */
  static async start(cluster: Cluster, signal: AbortSignal): Promise<LeaseWatch> {
    const w = new LeaseWatch(cluster);
    const combined = AbortSignal.any([signal, w.#ac.signal]);
    try {
      const { revision } = await w.#client.rangePrefix(PROBE_KEY, { signal });
      w.#loop = (async () => {
        for await (const batch of w.#client.watchPrefix(NETWORK_PREFIX, revision + 1, { signal: combined })) {
          const at = nowMs();
          for (const e of batch.events) w.events.push({ type: e.type, key: e.kv.key, value: e.kv.value, revision: batch.revision, at });
        }
      })();
      w.#loop.catch(() => {});
      let n = 0;
      await poll(
        async () => {
          await w.#client.put(PROBE_KEY, String(++n), { signal });
          return w.events.some((e) => e.key === PROBE_KEY);
        },
        { what: 'the bench etcd watch to deliver its probe', timeoutMs: 5000, intervalMs: 50, signal },
      );
    } catch (err) {
      await w.close();
      throw err;
    }
    return w;
  }

  /** The first event since index `from` that matches. */
  find(pred: (e: SeenEvent) => boolean, from = 0): SeenEvent | undefined {
    return this.events.slice(from).find(pred);
  }

  async close(): Promise<void> {
    this.#ac.abort();
    await this.#loop.catch(() => {});
    this.#client.close();
  }
}
