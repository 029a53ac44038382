import { Backoff } from '../../async/backoff.js';
import { sleep } from '../../async/abortable-sleep.js';
import { ChangeSignal } from '../../async/change-signal.js';
import { ConfigError, errorMessage } from '../../errors.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { LeaseEvent } from '../../lease/lease.js';
import type { BackendContext, Network } from '../backend.js';
import { isRetryable, RouteTableFullError } from './cloud-errors.js';
import { planTable } from './route-plan.js';
import type { CloudProvider, CloudRouteTable } from './route-table.js';

/** How the shared loop retries and paces itself; every field has a default fit for production. */
export interface CloudRouteTiming {
  /** Full reconcile period; default ctx.resyncMs, or FLANNEL_CLOUD_RESYNC_SEC (seconds) when set. */
  readonly resyncMs?: number;
  /** Backoff after a failed pass or call: first delay and cap (jittered into [d/2, d]). Default 1 s .. 30 s. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Attempts of a retryable failure at start-up before going on with the loop (default 4). */
  readonly startAttempts?: number;
  /** How long a route without a lease is left alone before removal (default 5 s). */
  readonly orphanGraceMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface CloudRouteNetworkOptions extends CloudRouteTiming {
  /** The backend type (`aws-vpc`, `gce`, `tencent-vpc`): names config errors and logs. */
  readonly type: string;
  /**
   * Discovers this instance and its table(s) (metadata service, options): called after the lease
   * is taken, as flannel did. Retried with backoff while it throws a retryable CloudApiError
   * (an API or metadata service down at start-up); any other error fails the start.
   */
  readonly connect: (signal: AbortSignal) => Promise<CloudProvider>;
  /** Environment for FLANNEL_CLOUD_RESYNC_SEC (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The cluster network of a route-table backend: IPv4 only, as flannel's cloud backends. */
export function cloudNetworkOf(type: string, ctx: Pick<BackendContext, 'config'>): IPNetwork {
  const { config } = ctx;
  if (config.enableIPv6) throw new ConfigError('EnableIPv6', true, `the ${type} backend supports IPv4 only (no IPv6 or dual-stack)`);
  if (!config.enableIPv4 || !config.network) throw new ConfigError('Network', config.network?.toString(), `the ${type} backend needs an IPv4 Network`);
  return config.network;
}

/** FLANNEL_CLOUD_RESYNC_SEC: a positive number of seconds, else undefined (not set). */
function resyncFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env['FLANNEL_CLOUD_RESYNC_SEC'];
  if (raw === undefined || raw === '') return undefined;
  const sec = Number(raw);
  if (!Number.isFinite(sec) || sec <= 0 || sec > 86_400) throw new ConfigError('FLANNEL_CLOUD_RESYNC_SEC', raw, 'must be a number of seconds in (0, 86400]');
  return Math.round(sec * 1000);
}

/**
 * The shared Network of the route-table backends (aws-vpc, gce, tencent-vpc). Takes the lease
 * (PublicIP only, as flannel's cloud backends wrote it), discovers the instance through
 * `connect`, puts `own subnet -> this instance` in every table, then keeps the tables in line
 * with the leases: see CloudRouteLoop.
 */
export async function registerCloudRouteNetwork(ctx: BackendContext, opts: CloudRouteNetworkOptions, signal: AbortSignal): Promise<Network> {
  const network = cloudNetworkOf(opts.type, ctx);
  const resyncMs = opts.resyncMs ?? resyncFromEnv(opts.env ?? process.env) ?? ctx.resyncMs;
  const log = ctx.logger;
  const lease = await ctx.acquireLease(
    { publicIP: ctx.extIface.extAddr, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
    signal,
  );
  const own = lease.subnet;
  if (!own) throw new ConfigError('Network', network.toString(), `the ${opts.type} backend got a lease without an IPv4 subnet`);
  const backoff = () => new Backoff(opts.backoffInitialMs ?? 1000, opts.backoffMaxMs ?? 30_000, opts.random);
  const provider = await retryStart(() => opts.connect(signal), 'discovering this instance', backoff(), Infinity, log, signal);
  log.info(`instance ${provider.instance}, route table(s) ${provider.tables.map((t) => t.name).join(', ')}`);
  const loop = new CloudRouteLoop({ provider, network, own, ctx, resyncMs, opts, backoff });
  await loop.placeOwnRoutes(signal);
  return { lease, mtu: ctx.extIface.mtu, run: (events, runSignal) => loop.run(events, runSignal) };
}

/**
 * Calls `fn` until it succeeds, it fails with an error that is not retryable (thrown), or
 * `attempts` retryable failures (the last one thrown); waits with backoff in between.
 */
async function retryStart<T>(fn: () => Promise<T>, what: string, backoff: Backoff, attempts: number, log: BackendContext['logger'], signal: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted || !isRetryable(err) || attempt >= attempts) throw err;
      log.warn(`${what} failed (attempt ${attempt}): ${errorMessage(err)}; retrying`);
      await backoff.wait(signal);
    }
  }
}

interface LoopParts {
  readonly provider: CloudProvider;
  readonly network: IPNetwork;
  readonly own: IPNetwork;
  readonly ctx: BackendContext;
  readonly resyncMs: number;
  readonly opts: CloudRouteTiming;
  readonly backoff: () => Backoff;
}

/**
 * The loop over lease events and the periodic reconcile. Each pass lists every table and fixes
 * it (planTable): own route missing or pointing elsewhere -> put; a removed lease's route ->
 * removed; a route inside the network without a lease (after a grace) -> removed; anything
 * outside the network -> untouched. A failed pass is retried with backoff; the agent keeps
 * running (the routes already in the tables keep working) and catches up when the API returns.
 */
export class CloudRouteLoop {
  private readonly leases = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly orphans = new Map<CloudRouteTable, ReadonlyMap<string, number>>();
  private synced = false;
  /** Lease events arrived since the current pass began: run another at once (a notify during a pass reaches no waiter). */
  private dirty = false;
  private readonly wake = new ChangeSignal();
  private readonly now: () => number;
  /** Consecutive failed passes (for the log: the first failure is an error, the recovery is said). */
  private failures = 0;

  constructor(private readonly p: LoopParts) {
    this.now = p.opts.now ?? Date.now;
  }

  private get log(): BackendContext['logger'] {
    return this.p.ctx.logger;
  }

  /**
   * Puts the own route into every table at start-up. A full table, or any error that is not
   * retryable (bad credentials, a missing table), fails the start; retryable failures are retried
   * a few times, then left to the loop (the agent must come up while the API is down).
   */
  async placeOwnRoutes(signal: AbortSignal): Promise<void> {
    const attempts = this.p.opts.startAttempts ?? 4;
    for (const table of this.p.provider.tables) {
      try {
        await retryStart(() => this.ensureOwn(table, signal), `placing route ${this.p.own.toString()} in ${table.name}`, this.p.backoff(), attempts, this.log, signal);
      } catch (err) {
        if (signal.aborted || !isRetryable(err)) {
          if (err instanceof RouteTableFullError) this.log.error(`${err.message}: cannot place this host's route ${this.p.own.toString()}`);
          throw err;
        }
        this.log.error(`cannot place route ${this.p.own.toString()} in ${table.name} yet: ${errorMessage(err)}; the reconcile loop keeps trying`);
      }
    }
  }

  private async ensureOwn(table: CloudRouteTable, signal: AbortSignal): Promise<void> {
    const own = this.p.own.toString();
    const routes = await table.list(signal);
    if (routes.some((r) => r.destination === own && r.targetsThisInstance)) {
      this.log.info(`route ${own} -> ${this.p.provider.instance} already in ${table.name}`);
      return;
    }
    await table.put(this.p.own, signal);
    this.log.info(`route added to table ${table.name}: ${own} -> ${this.p.provider.instance}`);
  }

  /** Applies one batch of remote lease events to what the loop knows. */
  applyEvents(batch: readonly LeaseEvent[]): void {
    for (const ev of batch) {
      const subnet = ev.lease.subnet;
      if (!subnet || !this.p.network.covers(subnet)) continue;
      const text = subnet.toString();
      if (ev.type === 'added') {
        this.leases.add(text);
        this.removed.delete(text);
      } else {
        this.leases.delete(text);
        this.removed.add(text);
      }
    }
    this.synced = true;
  }

  async run(events: AsyncIterable<readonly LeaseEvent[]>, signal: AbortSignal): Promise<void> {
    const consume = (async () => {
      for await (const batch of events) {
        this.applyEvents(batch);
        this.dirty = true;
        this.wake.notify();
      }
    })();
    const work = (async () => {
      const backoff = this.p.backoff();
      while (!signal.aborted) {
        try {
          this.dirty = false;
          await this.pass(signal);
          if (this.failures > 0) this.log.info(`route tables reachable again after ${this.failures} failed passes; caught up`);
          this.failures = 0;
          backoff.reset();
          if (!this.dirty) await this.wake.wait(signal, this.p.resyncMs);
        } catch (err) {
          if (signal.aborted) break;
          this.failures++;
          const delay = Math.min(backoff.nextDelay(), Math.max(this.p.resyncMs, 1000));
          const how = isRetryable(err) ? 'retrying' : 'not retryable; trying again';
          const line = `route reconcile failed (${this.failures} in a row): ${errorMessage(err)}; ${how} in ${delay} ms`;
          if (this.failures === 1 || !isRetryable(err)) this.log.error(line);
          else this.log.warn(line);
          await sleep(delay, signal).catch(() => {});
        }
      }
    })();
    await Promise.all([consume, work]);
  }

  /** One reconcile of every table; throws the first table's error after trying them all. */
  async pass(signal: AbortSignal): Promise<number> {
    const start = this.now();
    let repairs = 0;
    let kept = Infinity;
    let failed: unknown;
    const removedNow = new Set(this.removed);
    for (const table of this.p.provider.tables) {
      try {
        const res = await this.reconcileTable(table, removedNow, signal);
        repairs += res.repairs;
        kept = Math.min(kept, res.kept);
      } catch (err) {
        failed ??= err;
      }
    }
    if (failed !== undefined) throw failed;
    // Every table is clean of these: forget them (a lease re-added meanwhile is not in removedNow's way).
    for (const s of removedNow) this.removed.delete(s);
    // Peers whose route is in every table.
    this.p.ctx.metrics?.peersProgrammed('ipv4', kept === Infinity ? 0 : kept);
    this.p.ctx.metrics?.reconcileRun((this.now() - start) / 1000, repairs);
    return repairs;
  }

  private async reconcileTable(table: CloudRouteTable, removed: ReadonlySet<string>, signal: AbortSignal): Promise<{ repairs: number; kept: number }> {
    const routes = await table.list(signal);
    const plan = planTable(routes, {
      network: this.p.network,
      own: this.p.own,
      leases: this.leases,
      removedLeases: removed,
      synced: this.synced,
      orphanSince: this.orphans.get(table) ?? new Map(),
      orphanGraceMs: this.p.opts.orphanGraceMs ?? 5000,
      now: this.now(),
    });
    this.orphans.set(table, plan.orphanSince);
    let repairs = 0;
    if (plan.putOwn) {
      await table.put(this.p.own, signal);
      this.log.info(`route put in table ${table.name}: ${this.p.own.toString()} -> ${this.p.provider.instance} (was missing or pointed elsewhere)`);
      repairs++;
    }
    for (const { route, reason } of plan.remove) {
      await table.remove(route, signal);
      this.log.info(`route removed from table ${table.name}: ${route.destination} -> ${route.target} (${reason})`);
      repairs++;
    }
    return { repairs, kept: plan.kept };
  }
}

