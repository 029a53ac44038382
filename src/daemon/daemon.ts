import type { Server } from 'node:http';
import { AsyncQueue } from '../async/async-queue.js';
import { Backoff } from '../async/backoff.js';
import type { Network } from '../backend/backend.js';
import { createBackend, knownBackendTypes } from '../backend/registry.js';
import type { NetworkConfig } from '../config/network-config.js';
import { ConfigError, FlannelError, SubnetExhaustedError, errorMessage } from '../errors.js';
import type { TrafficManager } from '../traffic/traffic-manager.js';
import { describeLease, leaseId, type Lease, type LeaseAttrs, type LeaseEvent } from '../lease/lease.js';
import { LeaseGuard } from '../lease/lease-guard.js';
import { LeaseWatcher } from '../lease/lease-watcher.js';
import type { KernelOps } from '../kernel/kernel-ops.js';
import type { Logger } from '../log/logger.js';
import type { InterfaceSource } from '../net/external-interface.js';
import { selectExternalInterface } from '../net/interface-selection.js';
import { NetlinkInterfaces } from '../net/netlink-interfaces.js';
import { NO_METRICS, leaseFacts, peerMetricsOf, type AgentMetrics, type StoreMetrics } from '../metrics/agent-metrics.js';
import { readPreviousSubnets, writeSubnetEnv } from '../subnet/subnet-env.js';
import type { SubnetManager } from '../subnet/subnet-manager.js';
import type { DaemonConfig } from './daemon-config.js';
import { LeaseKeeper } from './lease-keeper.js';

export interface DaemonDeps {
  readonly logger: Logger;
  /**
   * Interface facts without the kernel layer (procfs, node:os), for backends that do not load
   * it; a loader, so that a vxlan or host-gw agent (facts through rtnetlink) never loads them.
   */
  readonly interfaces: () => Promise<InterfaceSource>;
  /** Builds the subnet manager for the chosen mode; loaded lazily so unused clients cost nothing. */
  readonly createSubnetManager: (knownBackends: readonly string[], metrics: StoreMetrics) => Promise<SubnetManager>;
  /** Told when the agent is first ready, to release the pages start-up used (src/memory/). */
  readonly coldPages?: { ready(): void };
}

/** Full data-path reconcile period; kernel change events repair deletions at once. */
export const DATA_PATH_RESYNC_MS = 30_000;

/** Loads the netlink layer only for backends that program the kernel. */
async function openKernel(): Promise<KernelOps & { close(): void }> {
  const { NetlinkKernel } = await import('../kernel/kernel-ops.js');
  return new NetlinkKernel();
}

/** The daemon's readiness, served on /readyz. */
class Readiness {
  private why = 'starting';
  private isReady = false;
  ready = () => this.isReady;
  reason = () => this.why;
  set(ready: boolean, why: string) {
    this.isReady = ready;
    this.why = why;
  }
}

/**
 * The composition root of flanneld: reads the network config, picks the interface, takes the
 * lease through the backend, writes subnet.env, and keeps lease and data path current until
 * the signal aborts. Returns normally on abort (the lease is kept for the next start).
 */
export async function runDaemon(cfg: DaemonConfig, deps: DaemonDeps, signal: AbortSignal): Promise<void> {
  const log = deps.logger;
  const readiness = new Readiness();
  let health: Server | undefined;
  let metrics: AgentMetrics = NO_METRICS;
  if (cfg.healthzPort > 0) {
    // Loaded only when serving: an agent without -healthz-port needs no HTTP server code, nor prom-client.
    const [{ startHealthServer }, { createPromMetrics }, { buildInfo }] = await Promise.all([
      import('../health/health-server.js'),
      import('../metrics/prom-metrics.js'),
      import('../build-info.js'),
    ]);
    const build = buildInfo();
    const prom = createPromMetrics({ version: build.version, commit: build.commit, nodeVersion: process.version });
    metrics = prom;
    health = await startHealthServer({ ip: cfg.healthzIP, port: cfg.healthzPort, state: readiness, logger: log.child('health'), metrics: prom });
  }
  const sm = await deps.createSubnetManager(knownBackendTypes(), metrics);
  let kernel: (KernelOps & { close(): void }) | undefined;
  try {
    readiness.set(false, `waiting for the network config from ${sm.name}`);
    const config = await sm.getNetworkConfig(signal);
    log.info(`network config: ${describeConfig(config)}`);
    const backend = await createBackend(config.backendType);
    if (backend.usesKernel) {
      kernel = await openKernel();
      if (metrics !== NO_METRICS) kernel = (await import('../metrics/instrumented-kernel.js')).instrumentKernel(kernel, metrics);
    }
    // With the kernel layer loaded, interface facts come through rtnetlink too.
    const extIface = await selectExternalInterface(
      kernel ? new NetlinkInterfaces(kernel) : await deps.interfaces(),
      { ...cfg, enableIPv4: config.enableIPv4, enableIPv6: config.enableIPv6 },
      log.child('iface'),
    );
    let preferred = await readPreviousSubnets(cfg.subnetFile);

    while (!signal.aborted) {
      const scope = new AbortController();
      const stop = () => scope.abort(signal.reason);
      signal.addEventListener('abort', stop, { once: true });
      try {
        readiness.set(false, 'acquiring a subnet lease');
        const network = await backend.registerNetwork(
          {
            config,
            extIface,
            logger: log.child(backend.type),
            acquireLease: (attrs, s) => acquireWithRetry(sm, attrs, preferred, s, log),
            kernel: () => {
              if (!kernel) throw new FlannelError('ERR_STATE', `backend ${backend.type} did not declare that it uses the kernel`);
              return kernel;
            },
            resyncMs: DATA_PATH_RESYNC_MS,
            metrics: metrics === NO_METRICS ? undefined : peerMetricsOf(metrics, backend.type),
            storedBackendData: sm.storedBackendData?.bind(sm),
          },
          scope.signal,
        );
        log.info(`acquired lease ${describeLease(network.lease)} (backend ${backend.type})`);
        metrics.leaseHeld(leaseFacts(network.lease));
        // As flanneld: the rules first, then subnet.env (the CNI plugin's go-ahead).
        const traffic = await setUpTraffic(cfg, config, network.lease, log);
        await writeSubnetEnv(cfg.subnetFile, {
          network: config.enableIPv4 ? config.network : undefined,
          subnet: network.lease.subnet,
          ipv6Network: config.enableIPv6 ? config.ipv6Network : undefined,
          ipv6Subnet: network.lease.ipv6Subnet,
          mtu: network.mtu,
          ipMasq: cfg.ipMasq,
        });
        log.info(`wrote ${cfg.subnetFile}`);
        readiness.set(true, 'ready');
        deps.coldPages?.ready();
        sm.onReady?.(network.lease, scope.signal).catch((err: unknown) => {
          if (!scope.signal.aborted) log.warn(`${sm.name}: marking the network ready failed: ${errorMessage(err)}`);
        });
        const resync = traffic?.startResync({ intervalSec: cfg.iptablesResyncSec, signal: scope.signal, onPass: (n) => metrics.ruleResync(n) });
        // Every remote lease passes this guard before any backend sees it (hijack attempts are refused).
        const guard = new LeaseGuard({
          network: config.enableIPv4 ? config.network : undefined,
          ipv6Network: config.enableIPv6 ? config.ipv6Network : undefined,
          own: network.lease,
          ownAddresses: [extIface.ifaceAddr, extIface.ifaceV6Addr, extIface.extAddr, extIface.extV6Addr],
          logger: log,
        });
        const changed = await runNetwork(sm, network, guard, cfg, log, scope, metrics);
        await resync;
        if (changed) preferred = changed;
      } finally {
        signal.removeEventListener('abort', stop);
        scope.abort();
      }
    }
  } finally {
    kernel?.close();
    sm.close();
    if (health) await new Promise<void>((r) => health.close(() => r()));
  }
}

/**
 * Installs the masquerade (-ip-masq) and forward (-iptables-forward-rules) rules for this lease.
 * A failure is logged, not fatal: the resync loop keeps trying. Undefined when neither is on.
 */
async function setUpTraffic(cfg: DaemonConfig, config: NetworkConfig, lease: Lease, log: Logger): Promise<TrafficManager | undefined> {
  if (!cfg.ipMasq && !cfg.iptablesForwardRules) return undefined;
  const { createTrafficManager } = await import('../traffic/create-traffic-manager.js');
  const tm = createTrafficManager({ enableNFTables: config.enableNFTables, logger: log.child('traffic') });
  const v4 = config.enableIPv4 ? config.network : undefined;
  const v6 = config.enableIPv6 ? config.ipv6Network : undefined;
  try {
    if (cfg.ipMasq) {
      await tm.ensureMasqRules({ network: v4, subnet: lease.subnet, ipv6Network: v6, ipv6Subnet: lease.ipv6Subnet });
    }
    if (cfg.iptablesForwardRules) await tm.ensureForwardRules({ network: v4, ipv6Network: v6 });
  } catch (err) {
    log.error(`failed to set up traffic rules: ${errorMessage(err)}; retrying every ${cfg.iptablesResyncSec} s`);
  }
  return tm;
}

/**
 * Runs one network until the outer signal aborts (returns undefined) or the lease came back
 * with other subnets (returns them so the caller rebuilds the network).
 */
async function runNetwork(
  sm: SubnetManager,
  network: Network,
  guard: LeaseGuard,
  cfg: DaemonConfig,
  log: Logger,
  scope: AbortController,
  metrics: AgentMetrics,
): Promise<Lease | undefined> {
  let changedTo: Lease | undefined;
  const keeper = new LeaseKeeper(network.lease, sm, cfg.subnetLeaseRenewMarginMin * 60_000, log.child('lease'), (l) => {
    changedTo = l;
    scope.abort();
  }, metrics);
  const queue = new AsyncQueue<readonly LeaseEvent[]>(scope.signal);
  const watcher = new LeaseWatcher(network.lease);
  const ownKey = leaseId(network.lease);
  const pump = (async () => {
    for await (const result of sm.watchLeases(scope.signal)) {
      let batch: LeaseEvent[];
      if (result.kind === 'snapshot') {
        if (!result.leases.some((l) => leaseId(l) === ownKey) && keeper.lease.expiration) {
          void keeper.reacquire('missing from the lease listing', scope.signal).catch(() => {});
        }
        batch = guard.filter(watcher.reset(result.leases));
      } else {
        if (result.events.some((e) => e.type === 'removed' && leaseId(e.lease) === ownKey)) {
          void keeper.reacquire('deleted from the store', scope.signal).catch(() => {});
        }
        batch = guard.filter(watcher.update(result.events));
      }
      if (batch.length > 0) {
        const added = batch.filter((e) => e.type === 'added').length;
        const refused = guard.refusedCount > 0 ? ` (${guard.refusedCount} refused)` : '';
        log.info(`leases: ${added} added, ${batch.length - added} removed, ${guard.size} remote leases now${refused}`);
      }
      // A snapshot is passed on even when it changes nothing: the first one tells the backend
      // that it has the whole picture (and may remove what earlier runs left behind).
      metrics.remoteLeases(guard.size);
      if (batch.length > 0 || result.kind === 'snapshot') queue.push(batch);
    }
  })();
  await Promise.all([
    keeper.run(scope.signal),
    network.run(queue, scope.signal),
    pump.catch((err: unknown) => {
      if (!scope.signal.aborted) log.error(`lease watch failed: ${errorMessage(err)}`);
    }),
  ]).finally(() => queue.close());
  return changedTo;
}

/** acquireLease with flanneld's patience: store errors and a full network are retried, config errors are not. */
async function acquireWithRetry(
  sm: SubnetManager,
  attrs: LeaseAttrs,
  preferred: { subnet?: Lease['subnet']; ipv6Subnet?: Lease['ipv6Subnet'] },
  signal: AbortSignal,
  log: Logger,
): Promise<Lease> {
  const backoff = new Backoff(500, 30_000);
  for (;;) {
    try {
      return await sm.acquireLease(attrs, { signal, preferred });
    } catch (err) {
      if (signal.aborted || err instanceof ConfigError || !(err instanceof FlannelError)) throw err;
      const what = err instanceof SubnetExhaustedError ? 'no subnet is free' : 'failed to acquire lease';
      log.error(`${what}: ${errorMessage(err)}; retrying`);
      await backoff.wait(signal);
    }
  }
}

function describeConfig(c: NetworkConfig): string {
  const parts: string[] = [];
  // Ranges exist only where subnets are allocated here (etcd); in kube mode the node has them.
  const range = (len: number, min?: unknown, max?: unknown) => (len > 0 ? ` SubnetLen=${len} [${String(min)}..${String(max)}]` : '');
  if (c.enableIPv4) parts.push(`Network=${c.network?.toString()}${range(c.subnetLen, c.subnetMin, c.subnetMax)}`);
  if (c.enableIPv6) parts.push(`IPv6Network=${c.ipv6Network?.toString()}${range(c.ipv6SubnetLen, c.ipv6SubnetMin, c.ipv6SubnetMax)}`);
  parts.push(`Backend=${c.backendType}`);
  return parts.join(' ');
}
