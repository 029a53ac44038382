/**
 * The traffic manager: masquerade (`-ip-masq`) and forward (`-iptables-forward-rules`) rules for
 * the cluster network, as flannel's pkg/trafficmngr. Two implementations: iptables
 * (iptables-restore, chains FLANNEL-POSTRTG / FLANNEL-FWD) and nftables (`nft -f`, tables
 * flannel-ipv4 / flannel-ipv6). Rules are applied atomically, checked and restored by a resync
 * loop, and deliberately NOT removed on shutdown (a rolling restart must not cut pods off);
 * only cleanup() (`flanneld -cleanup`) removes them.
 */
import type { IPNetwork } from '../ip/ip-network.js';
import type { Logger } from '../log/logger.js';

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * Masquerade rules for one or both families. A family whose network is absent is left as it
 * is (neither added nor removed). Each network needs its subnet (this host's lease).
 */
export interface MasqRulesOptions extends CallOptions {
  /** IPv4 cluster network, e.g. 10.244.0.0/16. */
  readonly network?: IPNetwork;
  /** This host's IPv4 lease, e.g. 10.244.1.0/24. */
  readonly subnet?: IPNetwork;
  readonly ipv6Network?: IPNetwork;
  readonly ipv6Subnet?: IPNetwork;
  /** kube-proxy's masquerade mark bit; traffic carrying it is left alone. Default 0x4000. */
  readonly kubeProxyMarkMasq?: number;
  /** false: never `--random-fully`. Default: use it when the tools support it. */
  readonly randomFully?: boolean;
}

/** Forward-accept rules for one or both families; an absent family is left as it is. */
export interface ForwardRulesOptions extends CallOptions {
  readonly network?: IPNetwork;
  readonly ipv6Network?: IPNetwork;
}

export interface ResyncOptions {
  /** Seconds between checks (flanneld's -iptables-resync, default 5). */
  readonly intervalSec: number;
  /** The loop ends when this aborts; the rules stay. */
  readonly signal: AbortSignal;
  /** Where restores (info) and failures (error) are reported; default: the manager's logger. */
  readonly logger?: Logger;
  /** Told of each pass that completed, with the number of rule sets it restored. */
  readonly onPass?: (restored: number) => void;
}

export type TrafficMode = 'iptables' | 'nftables';

export interface TrafficManager {
  readonly mode: TrafficMode;
  /** Makes the masquerade rules exactly right; true when the kernel had to be changed. */
  ensureMasqRules(opts: MasqRulesOptions): Promise<boolean>;
  /** Makes the forward rules exactly right; true when the kernel had to be changed. */
  ensureForwardRules(opts: ForwardRulesOptions): Promise<boolean>;
  /** One check of everything ensured so far; restores what is missing or altered. Returns what was restored. */
  resync(opts?: CallOptions): Promise<string[]>;
  /** Runs resync() every intervalSec seconds until the signal aborts (resolves then, never rejects). */
  startResync(opts: ResyncOptions): Promise<void>;
  /** Removes every rule, chain and table flannel made in this mode, for both families. */
  cleanup(opts?: CallOptions): Promise<void>;
}
