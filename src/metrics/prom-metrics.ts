/**
 * AgentMetrics recorded with prom-client into a registry of its own (not prom-client's global
 * one), rendered in the Prometheus text format for /metrics. Loaded only with -healthz-port.
 */
// prom-client's files one by one, not its index: the index also loads the push gateway
// (http/https), cluster aggregation, default process metrics (perf_hooks) and Summary; with
// them the agent's RSS grows by ~16 MiB, with these four by ~2 MiB (the HTTP server included).
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';
import type { AgentMetrics, LeaseFacts } from './agent-metrics.js';

export interface BuildFacts {
  readonly version: string;
  readonly commit?: string;
  readonly nodeVersion: string;
}

/** What the health server needs to answer /metrics. */
export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface PromMetrics extends AgentMetrics, MetricsExposition {}

/** Buckets of the reconcile duration histogram, seconds: 1 ms .. 10 s. */
export const RECONCILE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPromMetrics(build: BuildFacts, now: () => number = Date.now): PromMetrics {
  const registry = new Registry();
  const registers = [registry];
  const buildInfo = new Gauge({
    name: 'flannel_build_info',
    help: 'Always 1; the labels say which flanneld build runs.',
    labelNames: ['version', 'commit', 'node_version'] as const,
    registers,
  });
  buildInfo.set({ version: build.version, commit: build.commit ?? 'unknown', node_version: build.nodeVersion }, 1);
  const leaseHeld = new Gauge({
    name: 'flannel_lease_held',
    help: '1 for each subnet whose lease this host holds.',
    labelNames: ['subnet'] as const,
    registers,
  });
  let expiration: Date | undefined;
  new Gauge({
    name: 'flannel_lease_expiry_seconds',
    help: 'Seconds until the held lease expires (0 for a reservation or before a lease is held).',
    registers,
    collect() {
      if (expiration) this.set(Math.max(0, (expiration.getTime() - now()) / 1000));
      else this.reset();
    },
  });
  const renewals = new Counter({ name: 'flannel_lease_renewals_total', help: 'Lease renewals that succeeded.', registers });
  const reacquisitions = new Counter({
    name: 'flannel_lease_reacquisitions_total',
    help: 'Times the lease was acquired again after it was lost.',
    registers,
  });
  const remoteLeases = new Gauge({ name: 'flannel_remote_leases', help: 'Remote leases known from the store.', registers });
  const peers = new Gauge({
    name: 'flannel_peers_programmed',
    help: 'Remote peers whose data-path entries are programmed.',
    labelNames: ['backend', 'family'] as const,
    registers,
  });
  const reconcileRuns = new Counter({ name: 'flannel_reconcile_runs_total', help: 'Full data-path reconciles.', registers });
  const reconcileDuration = new Histogram({
    name: 'flannel_reconcile_duration_seconds',
    help: 'Duration of full data-path reconciles.',
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const reconcileRepairs = new Counter({
    name: 'flannel_reconcile_repairs_total',
    help: 'Data-path entries re-created or fixed by reconciles after an outside change.',
    registers,
  });
  const kernelOps = new Counter({
    name: 'flannel_kernel_operations_total',
    help: 'Kernel (netlink) operations by kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  const storeRequests = new Counter({
    name: 'flannel_store_requests_total',
    help: 'Requests to the subnet store (etcd or the Kubernetes API) by result.',
    labelNames: ['store', 'result'] as const,
    registers,
  });
  const storeReconnects = new Counter({
    name: 'flannel_store_reconnects_total',
    help: 'Connections to the subnet store opened again after a failure.',
    labelNames: ['store'] as const,
    registers,
  });
  const watchResumes = new Counter({
    name: 'flannel_store_watch_resumes_total',
    help: 'Lease watches resumed after they ended or failed.',
    labelNames: ['store'] as const,
    registers,
  });
  const ruleResyncs = new Counter({ name: 'flannel_rule_resyncs_total', help: 'Periodic checks of the masquerade/forward rules.', registers });
  const ruleRestorations = new Counter({
    name: 'flannel_rule_restorations_total',
    help: 'Masquerade/forward rules put back after they went missing.',
    registers,
  });

  const hold = (lease: LeaseFacts) => {
    leaseHeld.reset();
    for (const s of lease.subnets) leaseHeld.set({ subnet: s }, 1);
    expiration = lease.expiration;
  };
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    leaseHeld: hold,
    leaseRenewed(lease) {
      renewals.inc();
      hold(lease);
    },
    leaseReacquired(lease) {
      reacquisitions.inc();
      hold(lease);
    },
    remoteLeases: (n) => remoteLeases.set(n),
    peersProgrammed: (backend, family, n) => peers.set({ backend, family }, n),
    reconcileRun(seconds, repairs) {
      reconcileRuns.inc();
      reconcileDuration.observe(seconds);
      if (repairs > 0) reconcileRepairs.inc(repairs);
    },
    kernelOp: (kind, result) => kernelOps.inc({ kind, result }),
    storeRequest: (store, result) => storeRequests.inc({ store, result }),
    storeReconnect: (store) => storeReconnects.inc({ store }),
    storeWatchResume: (store) => watchResumes.inc({ store }),
    ruleResync(restored) {
      ruleResyncs.inc();
      if (restored > 0) ruleRestorations.inc(restored);
    },
  };
}
