import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import type { Logger } from '../../log/logger.js';
import type { SubnetManager } from '../subnet-manager.js';
import type { EtcdClientOptions } from './etcd-types.js';

/** Builds the etcd subnet manager; the HTTP client is loaded only when etcd mode is chosen. */
export async function createEtcdSubnetManager(opts: {
  client: EtcdClientOptions;
  prefix: string;
  leaseTtlSeconds: number;
  knownBackends: readonly string[];
  logger: Logger;
  metrics?: StoreMetrics;
}): Promise<SubnetManager> {
  const [{ EtcdHttpClient }, { EtcdSubnetManager }] = await Promise.all([
    import('./etcd-http-client.js'),
    import('./etcd-subnet-manager.js'),
  ]);
  const kv = new EtcdHttpClient({ logger: opts.logger, ...opts.client, metrics: opts.metrics });
  return new EtcdSubnetManager({
    kv,
    prefix: opts.prefix,
    leaseTtlSeconds: opts.leaseTtlSeconds,
    knownBackends: opts.knownBackends,
    logger: opts.logger,
    metrics: opts.metrics,
  });
}
