/** What the daemon needs from the command line, already validated (see src/cli). */
export interface DaemonConfig {
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdCaFile?: string | undefined;
  readonly etcdCertFile?: string | undefined;
  readonly etcdKeyFile?: string | undefined;
  readonly etcdUsername?: string | undefined;
  readonly etcdPassword?: string | undefined;
  readonly kubeSubnetMgr: boolean;
  readonly ifaces: readonly string[];
  readonly ifaceRegexes: readonly string[];
  readonly ifaceCanReach?: string | undefined;
  readonly publicIP?: string | undefined;
  readonly publicIPv6?: string | undefined;
  readonly subnetFile: string;
  readonly subnetLeaseTtlMs: number;
  readonly subnetLeaseRenewMarginMin: number;
  readonly ipMasq: boolean;
  readonly iptablesForwardRules: boolean;
  readonly iptablesResyncSec: number;
  readonly healthzIP: string;
  readonly healthzPort: number;
}
