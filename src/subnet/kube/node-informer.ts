/**
 * One list and one watch of all Nodes, kept as a cache of NodeInfo projections: the shape of
 * client-go's reflector, small. The list asks for resourceVersion "0" (the server's cache) the
 * first time; the watch continues from the list's resourceVersion with bookmarks on, and is
 * re-opened from the last version seen when the server or the network ends it (backoff while it
 * keeps failing). "410 Gone"/Expired (as an HTTP status or an ERROR event) means the version
 * has left the server's history: the cache is re-listed (a fresh, consistent list) and listeners
 * get a resync. A watch silent for longer than its timeout is abandoned and re-opened.
 *
 * A watch whose connection stops answering (packets dropped, no RST, a stalled stream) is
 * noticed by its WatchSilenceProbe (watch-silence-probe.ts: /version asked after
 * `watchProbeAfterMs` of silence, `watchProbeTimeoutMs` to answer; the bookmarks' cadence) and
 * abandoned; it is re-opened from the last resourceVersion seen.
 */
import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import { ChangeSignal } from '../../async/change-signal.js';
import { sleep } from '../../async/abortable-sleep.js';
import { Backoff } from '../../async/backoff.js';
import { FlannelError, StoreError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { KubeErrorCode, type KubeApi, type WatchEvent } from './kube-api.js';
import { projectNode, sameNodeInfo, type NodeInfo } from './kube-node.js';
import { BookmarkCadence, DEFAULT_WATCH_PROBE_AFTER_MS, DEFAULT_WATCH_PROBE_TIMEOUT_MS, WatchSilenceProbe } from './watch-silence-probe.js';

export interface NodeCacheListener {
  /** The cache was (re)built from a list: the whole set of nodes. */
  onResync(nodes: ReadonlyMap<string, NodeInfo>): void;
  /** One node was added (prev undefined), changed, or deleted (next undefined). */
  onChange(prev: NodeInfo | undefined, next: NodeInfo | undefined): void;
}

export interface NodeInformerOptions {
  readonly api: KubeApi;
  /** The annotation keys to keep (all others are dropped by the projection). */
  readonly annotationKeys: readonly string[];
  readonly logger: Logger;
  /** The watch's timeoutSeconds is drawn from [min, 2*min) as client-go does; default 300. */
  readonly minWatchTimeoutSec?: number;
  readonly random?: () => number;
  /** Backoff between failed lists / watches (ms). */
  readonly listBackoff?: { initialMs: number; maxMs: number };
  readonly watchBackoff?: { initialMs: number; maxMs: number };
  /** Silence on the watch before the API server is probed (default 5 s; FLANNEL_KUBE_WATCH_PROBE_SEC). */
  readonly watchProbeAfterMs?: number | undefined;
  /** The probe's deadline (default 3 s; FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC). */
  readonly watchProbeTimeoutMs?: number | undefined;
  /** Watches re-opened (flannel_store_watch_resumes_total{store="kube"}). */
  readonly metrics?: StoreMetrics;
}

/** Thrown inside the watch loop when the server says the version is gone. */
class ExpiredError extends Error {}

export class NodeInformer {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly listeners = new Set<NodeCacheListener>();
  private readonly ac = new AbortController();
  private readonly log: Logger;
  private running: Promise<void> | undefined;
  private resourceVersion = '';
  private hasSynced = false;
  private lastError: unknown;
  private readonly listOutcome = new ChangeSignal();
  /** The server's bookmark interval, learnt across watches. */
  private readonly cadence = new BookmarkCadence();
  /** Lists and watches started, watches abandoned for silence, probes sent: for tests and logs. */
  readonly stats = { lists: 0, watches: 0, expired: 0, abandoned: 0, probes: 0 };

  constructor(private readonly opts: NodeInformerOptions) {
    this.log = opts.logger;
  }

  /** Starts the list/watch loop (once); it runs until stop(). */
  start(): void {
    this.running ??= this.run().catch((err: unknown) => {
      if (!this.ac.signal.aborted) this.log.error(`node watch stopped: ${errorMessage(err)}`);
    });
  }

  stop(): void {
    this.ac.abort();
    this.notifySync();
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** The API server's bookmark interval as learnt from the watch (ms), 0 while unknown. */
  get bookmarkIntervalMs(): number {
    return this.cadence.ms;
  }

  get size(): number {
    return this.nodes.size;
  }

  get(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  values(): IterableIterator<NodeInfo> {
    return this.nodes.values();
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: NodeCacheListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once the first list has filled the cache. Rejects at once with the last list error
   * when that error cannot be cured by retrying (401, 403, a bad config), and with a retryable
   * StoreError after `timeoutMs`; the loop keeps trying in the background either way.
   */
  async waitForSync(signal: AbortSignal, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hasSynced) {
      signal.throwIfAborted();
      if (this.ac.signal.aborted) throw new FlannelError('ERR_STATE', 'the node informer was stopped');
      const err = this.lastError;
      if (err instanceof StoreError && !err.retryable) throw err;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new StoreError(KubeErrorCode.unreachable, `${this.opts.api.server}/api/v1/nodes`, `nodes not listed within ${timeoutMs} ms${err ? `: ${errorMessage(err)}` : ''}`, {
          retryable: true,
          cause: err,
        });
      }
      await this.listOutcome.wait(signal, left);
    }
  }

  /** Wakes waitForSync(): a list outcome (success or failure) is in. */
  private notifySync(): void {
    this.listOutcome.notify();
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    const listBackoff = new Backoff(this.opts.listBackoff?.initialMs ?? 500, this.opts.listBackoff?.maxMs ?? 30_000, this.opts.random);
    const watchBackoff = new Backoff(this.opts.watchBackoff?.initialMs ?? 200, this.opts.watchBackoff?.maxMs ?? 10_000, this.opts.random);
    let needList = true;
    let consistent = false;
    let lastListFailure = '';
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.list(consistent ? undefined : '0', signal);
          listBackoff.reset();
          needList = false;
          lastListFailure = '';
        } catch (err) {
          if (signal.aborted) return;
          this.lastError = err;
          this.notifySync();
          const delay = listBackoff.nextDelay();
          // The same failure again (a 403 until RBAC is fixed) is worth one line, not one a second.
          const msg = `listing nodes failed: ${errorMessage(err)}`;
          if (msg === lastListFailure) this.log.v(1).info(`${msg}; retrying in ${delay} ms`);
          else this.log.warn(`${msg}; retrying in ${delay} ms`);
          lastListFailure = msg;
          await sleep(delay, signal).catch(() => {});
          continue;
        }
      }
      try {
        const delivered = await this.watchOnce(signal);
        if (delivered) watchBackoff.reset();
        // The server ended the watch (its timeout, a restart, a dropped connection): re-open it
        // from the last version, at once when it had worked, with backoff when it keeps ending.
        if (!delivered) await sleep(watchBackoff.nextDelay(), signal).catch(() => {});
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ExpiredError || (err instanceof StoreError && err.code === KubeErrorCode.expired)) {
          this.stats.expired++;
          this.log.info(`node watch: resource version ${this.resourceVersion} is too old (410 Gone); re-listing`);
          needList = true;
          consistent = true;
          continue;
        }
        const delay = watchBackoff.nextDelay();
        this.log.warn(`node watch failed: ${errorMessage(err)}; re-opening in ${delay} ms`);
        await sleep(delay, signal).catch(() => {});
      }
    }
  }

  private async list(resourceVersion: string | undefined, signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    const started = Date.now();
    // Items are projected as they stream in; the full Node objects are never held.
    const next = new Map<string, NodeInfo>();
    const res = await this.opts.api.listNodes({ resourceVersion, signal }, (item) => {
      const n = projectNode(item, this.opts.annotationKeys);
      if (n) next.set(n.name, n);
    });
    this.nodes.clear();
    for (const [k, v] of next) this.nodes.set(k, v);
    this.resourceVersion = res.resourceVersion;
    this.lastError = undefined;
    this.log.info(`listed ${next.size} nodes in ${Date.now() - started} ms (resourceVersion ${res.resourceVersion})`);
    this.hasSynced = true;
    this.notifySync();
    for (const l of this.listeners) l.onResync(this.nodes);
  }

  /** One watch request; resolves to whether it delivered anything (an event or a bookmark). */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    if (this.stats.watches > 0) this.opts.metrics?.storeWatchResume('kube');
    this.stats.watches++;
    const min = this.opts.minWatchTimeoutSec ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + (this.opts.random ?? Math.random)()));
    const scope = new AbortController();
    const stopScope = () => scope.abort(signal.reason);
    signal.addEventListener('abort', stopScope, { once: true });
    // A watch that stays silent past its own timeout (plus grace) is dead: a half-open connection.
    const grace = (timeoutSeconds + 30) * 1000;
    let abandoned = '';
    const abandon = (why: string) => {
      abandoned = why;
      scope.abort(new Error(why));
    };
    let watchdog = setTimeout(() => abandon(`silent for ${grace / 1000} s`), grace);
    const prober = new WatchSilenceProbe({
      api: this.opts.api,
      signal: scope.signal,
      afterMs: this.opts.watchProbeAfterMs ?? DEFAULT_WATCH_PROBE_AFTER_MS,
      timeoutMs: this.opts.watchProbeTimeoutMs ?? DEFAULT_WATCH_PROBE_TIMEOUT_MS,
      cadence: this.cadence,
      abandon,
    });
    let delivered = false;
    let expired: ExpiredError | undefined;
    const onEvent = (ev: WatchEvent) => {
      if (expired) return;
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abandon(`silent for ${grace / 1000} s`), grace);
      prober.heard(ev.type === 'BOOKMARK');
      delivered = true;
      expired = this.apply(ev);
      if (expired) scope.abort(expired);
    };
    try {
      await this.opts.api.watchNodes({ resourceVersion: this.resourceVersion, timeoutSeconds, signal: scope.signal }, onEvent);
    } catch (err) {
      if (expired) throw expired;
      if (signal.aborted) throw err;
      if (abandoned !== '') {
        this.stats.abandoned++;
        this.log.warn(`node watch abandoned (${abandoned}); re-opening from resourceVersion ${this.resourceVersion}`);
        // A stream that had worked is re-opened at once; one that never did, with backoff.
        return delivered;
      }
      throw err;
    } finally {
      clearTimeout(watchdog);
      prober.stop();
      this.stats.probes += prober.probes;
      signal.removeEventListener('abort', stopScope);
    }
    if (expired) throw expired;
    return delivered;
  }

  /** Applies one watch event; returns an ExpiredError for a 410 ERROR event. */
  private apply(ev: WatchEvent): ExpiredError | undefined {
    const obj = ev.object as { metadata?: { resourceVersion?: unknown }; code?: unknown; reason?: unknown; message?: unknown } | null;
    if (ev.type === 'ERROR') {
      if (obj?.code === 410 || obj?.reason === 'Expired' || obj?.reason === 'Gone') return new ExpiredError(String(obj?.message ?? 'expired'));
      this.log.warn(`node watch error event: ${String(obj?.message ?? JSON.stringify(obj))}`);
      return undefined;
    }
    const rv = obj?.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
    if (ev.type === 'BOOKMARK') return undefined;
    const next = projectNode(ev.object, this.opts.annotationKeys);
    if (!next) return undefined;
    const prev = this.nodes.get(next.name);
    if (ev.type === 'DELETED') {
      if (!prev) return undefined;
      this.nodes.delete(next.name);
      for (const l of this.listeners) l.onChange(prev, undefined);
      return undefined;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return undefined;
    this.nodes.set(next.name, next);
    if (!sameNodeInfo(prev, next)) for (const l of this.listeners) l.onChange(prev, next);
    return undefined;
  }
}
