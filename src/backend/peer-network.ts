import type { PeerMetrics } from '../metrics/agent-metrics.js';
import { AsyncQueue } from '../async/async-queue.js';
import { KernelBatchError, errorMessage } from '../errors.js';
import { leaseId, describeLease, type Lease, type LeaseEvent, type LeaseId } from '../lease/lease.js';
import type { Logger } from '../log/logger.js';
import type { KernelEvent } from '../kernel/events.js';
import type { KernelOps } from '../kernel/kernel-ops.js';
import { OwnDeletes } from './own-deletes.js';
import { appendEntries, appendKind, countChanges, diffEntries, emptyEntryLists, entriesOf, fdbKey, mergeEntries, neighborKey, NO_ENTRIES, routeKey, sieveOf, type EntryDiff, type EntryKind, type KindEntry, type PeerEntries } from './peer-entries.js';

/** The backend-specific half of a routed network: its devices and the entries per peer. */
export interface DataPath {
  /** Creates or repairs the backend's devices (e.g. a vxlan device deleted by hand). */
  ensureDevices(signal: AbortSignal): Promise<void>;
  /** The kernel entries for one remote lease, or why the lease is skipped. */
  entriesFor(lease: Lease): PeerEntries | { readonly skip: string };
  /**
   * The entries now in the kernel that this data path owns (and may therefore delete). With
   * `only`, just that kind is needed (others may be left empty; they are ignored). With `keep`,
   * each owned entry of that kind is shown to it as the dump reads it, and left out of the
   * result when it says false (a data path that calls `keep` must honour it; one may also
   * never call it).
   */
  dumpOwned(signal: AbortSignal, only?: EntryKind, keep?: (entry: KindEntry<EntryKind>) => boolean): Promise<PeerEntries>;
  /**
   * The kinds dumpOwned() dumps one at a time, honouring `keep` (every kind the data path
   * makes: the others are not reconciled). A reconcile then dumps and diffs them in turn,
   * settling each unchanged entry as it is read: a resync of 5,000 vxlan peers holds no array
   * of 15,000 parsed kernel objects. Without it, one dumpOwned() call covers all kinds.
   */
  readonly dumpKinds?: readonly EntryKind[];
  /** Whether a kernel change notification may mean that something of ours was removed. */
  concerns(ev: KernelEvent): boolean;
  /** Applies the PeerObjects this data path makes (removals, then puts); needed only by those that make some. */
  applyObjects?(diff: EntryDiff['objects'], signal: AbortSignal): Promise<void>;
}

export interface PeerNetworkOptions {
  readonly kernel: KernelOps;
  readonly dataPath: DataPath;
  readonly logger: Logger;
  /** Full reconcile period (dump and diff), as a safety net under the kernel events. */
  readonly resyncMs: number;
  /** Delay that coalesces a burst of kernel events into one reconcile. */
  readonly debounceMs?: number;
  /** Peers programmed and reconcile runs (flannel_peers_programmed, flannel_reconcile_*). */
  readonly metrics?: PeerMetrics;
}

type Work = { kind: 'batch'; events: readonly LeaseEvent[] } | { kind: 'reconcile'; reason: string };

/**
 * A change set larger than this is applied with the kernel event subscription closed. Each of
 * our own changes makes one multicast notification; thousands of them overflow the event
 * socket's receive buffer (ENOBUFS), and the `netlink` addon aborts the process on the
 * resulting poll error. Closing the socket also spares parsing thousands of our own events.
 * What someone else deletes meanwhile is caught by the next periodic resync.
 */
const QUIET_APPLY_THRESHOLD = 128;

/**
 * Milliseconds since `start` (process.hrtime.bigint()), one decimal. Not performance.now():
 * the global `performance` loads perf_hooks (~1 MiB of RSS) for a stopwatch.
 */
function elapsedMs(start: bigint): string {
  return (Number(process.hrtime.bigint() - start) / 1e6).toFixed(1);
}

/**
 * Keeps the kernel in line with the remote leases: each lease batch is applied as a pipelined
 * delta; a full reconcile (dump, diff, fix) runs first, after kernel events that touch our
 * objects, and every resync period. Nothing is torn down on abort (a restart keeps the path).
 */
export class PeerNetwork {
  private readonly peers = new Map<LeaseId, Lease>();
  private readonly skipped = new Map<LeaseId, string>();
  private readonly work = new AsyncQueue<Work>();
  private reconcilePending = false;
  private debounce: NodeJS.Timeout | undefined;
  private initialised = false;
  /** The open kernel event subscription's controller; aborted to close it for a large apply. */
  private subscription = new AbortController();
  private eventsPaused: { readonly done: Promise<void>; readonly resume: () => void } | undefined;
  /** Deletes this loop makes, so that their notifications do not each cost a reconcile. */
  private readonly ownDeletes = new OwnDeletes();

  constructor(private readonly opts: PeerNetworkOptions) {}

  /** The number of remote leases currently programmed (for tests and metrics). */
  get peerCount(): number {
    return this.peers.size;
  }

  async run(events: AsyncIterable<readonly LeaseEvent[]>, signal: AbortSignal): Promise<void> {
    const log = this.opts.logger;
    const onAbort = () => this.work.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setInterval(() => this.requestReconcile('periodic resync'), this.opts.resyncMs);
    timer.unref();
    const pump = (async () => {
      for await (const batch of events) this.work.push({ kind: 'batch', events: batch });
    })();
    const watchKernel = this.watchKernel(signal);
    try {
      for await (const item of this.work) {
        if (signal.aborted) break;
        try {
          if (item.kind === 'batch') await this.applyBatch(item.events, signal);
          else {
            this.reconcilePending = false;
            await this.reconcile(item.reason, signal);
          }
        } catch (err) {
          if (signal.aborted) break;
          log.error(`data path update failed: ${errorMessage(err)}; the next resync will retry`);
        }
      }
    } finally {
      clearInterval(timer);
      clearTimeout(this.debounce);
      signal.removeEventListener('abort', onAbort);
      // The lease stream is the caller's: it ends it once run() has settled (the daemon closes its
      // queue then), so waiting for the pump here would deadlock the shutdown.
      pump.catch(() => {});
      this.resumeEvents();
      await watchKernel;
    }
  }

  private requestReconcile(reason: string, delayMs = 0): void {
    if (this.reconcilePending) return;
    const push = () => {
      if (this.reconcilePending) return;
      this.reconcilePending = true;
      this.work.push({ kind: 'reconcile', reason });
    };
    if (delayMs <= 0) push();
    else {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(push, delayMs);
    }
  }

  /** Closes the kernel event subscription until resumeEvents() (see QUIET_APPLY_THRESHOLD). */
  private pauseEvents(): void {
    if (this.eventsPaused) return;
    let resume = () => {};
    const done = new Promise<void>((r) => (resume = r));
    this.eventsPaused = { done, resume };
    this.subscription.abort();
  }

  private resumeEvents(): void {
    const p = this.eventsPaused;
    this.eventsPaused = undefined;
    p?.resume();
  }

  private async watchKernel(signal: AbortSignal): Promise<void> {
    try {
      // One pass per subscription: a pass ends when a large apply pauses it, or at the end of run().
      while (!signal.aborted) {
        if (this.eventsPaused) {
          await this.eventsPaused.done;
          continue;
        }
        const mine = new AbortController();
        this.subscription = mine;
        const sub = AbortSignal.any([signal, mine.signal]);
        for await (const ev of this.opts.kernel.subscribe(['link', 'route', 'neighbor'], { signal: sub })) {
          if (ev.kind === 'overflow' || (this.opts.dataPath.concerns(ev) && !this.ownDeletes.take(ev))) {
            this.requestReconcile(ev.kind === 'overflow' ? 'kernel event overflow' : `kernel ${ev.kind} ${ev.action}`, this.opts.debounceMs ?? 100);
          }
        }
        // Ended without a pause (nor the run's end): the stream closed by itself; stop, as before.
        if (!mine.signal.aborted) break;
      }
    } catch (err) {
      if (!signal.aborted) this.opts.logger.warn(`kernel event subscription ended: ${errorMessage(err)}; relying on periodic resync`);
    }
  }

  private entries(lease: Lease): PeerEntries {
    const e = this.opts.dataPath.entriesFor(lease);
    if ('skip' in e) {
      const key = leaseId(lease);
      if (this.skipped.get(key) !== e.skip) this.opts.logger.error(`skipping lease ${describeLease(lease)}: ${e.skip}`);
      this.skipped.set(key, e.skip);
      return NO_ENTRIES;
    }
    // The key string only when some lease is skipped: 5,000 good leases build none.
    if (this.skipped.size > 0) this.skipped.delete(leaseId(lease));
    return e;
  }

  /** Every peer's entries, gathered straight into three lists. */
  private wantedEntries(only?: EntryKind): PeerEntries {
    const out = emptyEntryLists();
    for (const l of this.peers.values()) {
      if (only === undefined) appendEntries(out, this.entries(l));
      else appendKind(out, this.entries(l), only);
    }
    return out;
  }

  /** Peers with entries (leases skipped as malformed are not), per family, to the metrics. */
  private reportPeers(): void {
    const m = this.opts.metrics;
    if (!m) return;
    let v4 = 0;
    let v6 = 0;
    for (const [key, l] of this.peers) {
      if (this.skipped.has(key)) continue;
      if (l.subnet) v4++;
      if (l.ipv6Subnet) v6++;
    }
    m.peersProgrammed('ipv4', v4);
    m.peersProgrammed('ipv6', v6);
  }

  private record(ev: LeaseEvent): void {
    const key = leaseId(ev.lease);
    if (ev.type === 'added') this.peers.set(key, ev.lease);
    else {
      this.peers.delete(key);
      this.skipped.delete(key);
    }
  }

  private async applyBatch(events: readonly LeaseEvent[], signal: AbortSignal): Promise<void> {
    const started = process.hrtime.bigint();
    if (!this.initialised) {
      // The first batch is the whole picture: reconcile against the kernel, removing what
      // earlier runs left for leases that are gone, and re-creating nothing that is right.
      // (The reconcile derives every lease's entries itself: none are computed here.)
      for (const ev of events) this.record(ev);
      this.initialised = true;
      await this.reconcile('initial lease snapshot', signal);
      return;
    }
    const before: PeerEntries[] = [];
    const after: PeerEntries[] = [];
    for (const ev of events) {
      const old = this.peers.get(leaseId(ev.lease));
      if (old) before.push(this.entries(old));
      this.record(ev);
      if (ev.type === 'added') after.push(this.entries(ev.lease));
    }
    // Delta: remove what the old leases had and the new ones do not; put the new ones.
    const diff = diffEntries(mergeEntries(after), mergeEntries(before));
    const changes = await this.apply(diff, signal);
    const ms = elapsedMs(started);
    this.reportPeers();
    this.opts.logger.v(1).info(`applied ${events.length} lease events as ${changes} kernel changes in ${ms} ms`);
  }

  private async reconcile(reason: string, signal: AbortSignal): Promise<void> {
    const started = process.hrtime.bigint();
    await this.opts.dataPath.ensureDevices(signal);
    const changes = await this.apply(await this.diffWithKernel(signal), signal);
    const ms = elapsedMs(started);
    if (this.opts.metrics) {
      // The first reconcile programs the data path; later ones repair what changed outside.
      this.opts.metrics.reconcileRun(Number(process.hrtime.bigint() - started) / 1e9, reason === 'initial lease snapshot' ? 0 : changes);
      this.reportPeers();
    }
    const msg = `reconciled ${this.peers.size} peers (${reason}): ${changes} kernel changes in ${ms} ms`;
    if (changes > 0) this.opts.logger.info(msg);
    else this.opts.logger.v(2).info(msg);
  }

  /**
   * What to change in the kernel for every peer: one dump of everything, or kind by kind
   * (DataPath.dumpKinds), each kind's wanted entries computed for its turn only: a resync of
   * 5,000 vxlan peers holds 5,000 wanted entries at a time, not 15,000.
   */
  private async diffWithKernel(signal: AbortSignal): Promise<EntryDiff> {
    const dp = this.opts.dataPath;
    if (!dp.dumpKinds) return diffEntries(this.wantedEntries(), await dp.dumpOwned(signal));
    const diff: EntryDiff = { routes: { put: [], del: [] }, neighbors: { put: [], del: [] }, fdb: { put: [], del: [] }, objects: { put: [], del: [] } };
    for (const kind of dp.dumpKinds) {
      const sieve = sieveOf(kind, this.wantedEntries(kind));
      const kept = await dp.dumpOwned(signal, kind, sieve.keep as (entry: KindEntry<EntryKind>) => boolean);
      Object.assign(diff, { [kind]: sieve.finish(entriesOf(kind, kept)) });
    }
    return diff;
  }

  /** Deletes first (routes before their neighbours), then puts (neighbours and FDB before routes). */
  private async apply(d: EntryDiff, signal: AbortSignal): Promise<number> {
    const count = countChanges(d);
    if (count <= QUIET_APPLY_THRESHOLD) {
      this.ownDeletes.note('route', d.routes.del.map(routeKey));
      this.ownDeletes.note('neighbor', d.neighbors.del.map(neighborKey));
      this.ownDeletes.note('fdb', d.fdb.del.map(fdbKey));
      return this.applyDiff(d, signal);
    }
    this.pauseEvents();
    try {
      return await this.applyDiff(d, signal);
    } finally {
      this.resumeEvents();
    }
  }

  private async applyDiff(d: EntryDiff, signal: AbortSignal): Promise<number> {
    const k = this.opts.kernel;
    const o = { signal };
    const failures: string[] = [];
    const step = async (what: string, n: number, fn: () => Promise<void>) => {
      if (n === 0) return;
      try {
        await fn();
      } catch (err) {
        if (err instanceof KernelBatchError) {
          for (const f of err.failures.slice(0, 5)) failures.push(f.message);
          if (err.failures.length > 5) failures.push(`... and ${err.failures.length - 5} more ${what} failures`);
        } else {
          failures.push(`${what}: ${errorMessage(err)}`);
        }
      }
    };
    await step('route delete', d.routes.del.length, () => k.deleteRoutes(d.routes.del, o));
    await step('neighbour delete', d.neighbors.del.length, () => k.deleteNeighbors(d.neighbors.del, o));
    await step('fdb delete', d.fdb.del.length, () => k.deleteFdb(d.fdb.del, o));
    await step('neighbour replace', d.neighbors.put.length, () => k.replaceNeighbors(d.neighbors.put, o));
    await step('fdb replace', d.fdb.put.length, () => k.replaceFdb(d.fdb.put, o));
    const objects = d.objects.put.length + d.objects.del.length;
    await step('peer update', objects, async () => this.opts.dataPath.applyObjects?.(d.objects, signal));
    await step('route replace', d.routes.put.length, () => k.replaceRoutes(d.routes.put, o));
    for (const f of failures) this.opts.logger.error(f);
    return countChanges(d);
  }
}
