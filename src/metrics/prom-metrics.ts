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

/** What the health server needs to answer /metrics (and /status, when given). */
export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
  /** The agent's state as JSON for /status (flannelctl status): what the counters cannot say, e.g. when. */
  status?(): AgentStatus;
}

/** /status: the lease, peers, the last reconcile and rule check, with times (ISO 8601). */
export interface AgentStatus {
  readonly lease: { readonly subnets: readonly string[]; readonly expiresAt: string | null } | null;
  /** The backend type, as its peers are counted (null before any is). */
  readonly backend: string | null;
  readonly remoteLeases: number;
  /** Peers programmed by family, e.g. { "ipv4": 3 }. */
  readonly peersProgrammed: Readonly<Record<string, number>>;
  readonly reconcile: { readonly runs: number; readonly lastAt: string | null; readonly lastDurationSeconds: number | null; readonly lastRepairs: number | null; readonly repairsTotal: number };
  readonly rules: { readonly resyncs: number; readonly lastCheckAt: string | null; readonly lastRestored: number | null; readonly restorationsTotal: number };
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

  // What /status shows besides the counters: the last of each event, with its time.
  const st = {
    subnets: undefined as readonly string[] | undefined,
    backend: null as string | null,
    remote: 0,
    peers: {} as Record<string, number>,
    reconcile: { runs: 0, lastAt: null as number | null, lastDuration: null as number | null, lastRepairs: null as number | null, repairs: 0 },
    rules: { resyncs: 0, lastAt: null as number | null, lastRestored: null as number | null, restored: 0 },
  };
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const hold = (lease: LeaseFacts) => {
    leaseHeld.reset();
    for (const s of lease.subnets) leaseHeld.set({ subnet: s }, 1);
    expiration = lease.expiration;
    st.subnets = lease.subnets;
  };
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    status: () => ({
      lease: st.subnets === undefined ? null : { subnets: st.subnets, expiresAt: expiration ? expiration.toISOString() : null },
      backend: st.backend,
      remoteLeases: st.remote,
      peersProgrammed: { ...st.peers },
      reconcile: { runs: st.reconcile.runs, lastAt: iso(st.reconcile.lastAt), lastDurationSeconds: st.reconcile.lastDuration, lastRepairs: st.reconcile.lastRepairs, repairsTotal: st.reconcile.repairs },
      rules: { resyncs: st.rules.resyncs, lastCheckAt: iso(st.rules.lastAt), lastRestored: st.rules.lastRestored, restorationsTotal: st.rules.restored },
    }),
    leaseHeld: hold,
    leaseRenewed(lease) {
      renewals.inc();
      hold(lease);
    },
    leaseReacquired(lease) {
      reacquisitions.inc();
      hold(lease);
    },
    remoteLeases(n) {
      remoteLeases.set(n);
      st.remote = n;
    },
    peersProgrammed(backend, family, n) {
      peers.set({ backend, family }, n);
      st.backend = backend;
      st.peers[family] = n;
    },
    reconcileRun(seconds, repairs) {
      reconcileRuns.inc();
      reconcileDuration.observe(seconds);
      if (repairs > 0) reconcileRepairs.inc(repairs);
      Object.assign(st.reconcile, { runs: st.reconcile.runs + 1, lastAt: now(), lastDuration: seconds, lastRepairs: repairs, repairs: st.reconcile.repairs + repairs });
    },
    kernelOp: (kind, result) => kernelOps.inc({ kind, result }),
    storeRequest: (store, result) => storeRequests.inc({ store, result }),
    storeReconnect: (store) => storeReconnects.inc({ store }),
    storeWatchResume: (store) => watchResumes.inc({ store }),
    ruleResync(restored) {
      ruleResyncs.inc();
      if (restored > 0) ruleRestorations.inc(restored);
      Object.assign(st.rules, { resyncs: st.rules.resyncs + 1, lastAt: now(), lastRestored: restored, restored: st.rules.restored + restored });
    },
  };
}
