import type { SelectionOptions } from '../net/interface-selection.js';

/**
 * What the daemon needs from the command line, already validated (see src/cli). The store's
 * own settings (etcd endpoints, kube flags, lease TTL) go to the subnet manager's factory.
 */
export interface DaemonConfig extends Omit<SelectionOptions, 'enableIPv4' | 'enableIPv6'> {
  readonly subnetFile: string;
  readonly subnetLeaseRenewMarginMin: number;
  readonly ipMasq: boolean;
  readonly iptablesForwardRules: boolean;
  readonly iptablesResyncSec: number;
  readonly healthzIP: string;
  readonly healthzPort: number;
}
