import type { ToolRunner } from '../kernel/exec-tool.js';
import type { Logger } from '../log/logger.js';
import { IptablesTrafficManager } from './iptables/iptables-manager.js';
import { NftTrafficManager } from './nftables/nft-manager.js';
import type { CallOptions, TrafficManager } from './traffic-manager.js';

export interface TrafficManagerDeps {
  readonly logger: Logger;
  /** How tools are run; tests pass a fake. */
  readonly run?: ToolRunner;
}

/** The manager for the network config's EnableNFTables. */
export function createTrafficManager(opts: TrafficManagerDeps & { readonly enableNFTables: boolean }): TrafficManager {
  if (opts.enableNFTables) {
    opts.logger.info('Starting flannel in nftables mode...');
    return new NftTrafficManager(opts);
  }
  opts.logger.info('Starting flannel in iptables mode...');
  return new IptablesTrafficManager(opts);
}

/**
 * For `flanneld -cleanup`: removes the rules of both modes (the mode used before may not be
 * known). A missing tool is skipped; the first other failure is thrown after both were tried.
 */
export async function cleanupAllTrafficRules(opts: TrafficManagerDeps & CallOptions): Promise<void> {
  let firstError: unknown;
  for (const m of [new IptablesTrafficManager(opts), new NftTrafficManager(opts)]) {
    try {
      await m.cleanup({ signal: opts.signal });
    } catch (err) {
      firstError ??= err;
    }
  }
  if (firstError !== undefined) throw firstError;
}
