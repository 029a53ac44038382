/**
 * One list and one watch of all Nodes, kept as a cache of NodeInfo projections: the shape of
 * client-go's reflector, small. The list asks for resourceVersion "0" (the server's cache) the
 * first time; the watch continues from the list's resourceVersion with bookmarks on, and is
 * re-opened from the last version seen when the server or the network ends it (backoff while it
 * keeps failing). "410 Gone"/Expired (as an HTTP status or an ERROR event) means the version
 * has left the server's history: the cache is re-listed (a fresh, consistent list) and listeners
 * get a resync. A watch silent for longer than its timeout is abandoned and re-opened.
 *
 * A watch that stays silent for `watchProbeAfterMs` is renewed by its WatchSilenceProbe
 * (watch-silence-probe.ts): a new watch from the last resourceVersion on a fresh connection,
 * switched to when its head comes within `watchProbeTimeoutMs` (the old stream dropped, events
 * both delivered applied once), the watch given up when it does not; a stream silent for three
 * learnt bookmark intervals is given up too. A watch re-opened after a failure also goes on a
 * fresh connection: a pooled one may be dead without a word.
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
  /** Silence on the watch before it is renewed (default 5 s; FLANNEL_KUBE_WATCH_PROBE_SEC). */
  readonly watchProbeAfterMs?: number | undefined;
  /** The renewed watch's deadline for its head (default 3 s; FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC). */
  readonly watchProbeTimeoutMs?: number | undefined;
  /** Watches re-opened (flannel_store_watch_resumes_total{store="kube"}). */
  readonly metrics?: StoreMetrics;
}

/** Thrown inside the watch loop when the server says the version is gone. */
class ExpiredError extends Error {}

/** One watch request of a session. */
interface Stream {
  readonly ac: AbortController;
  /** Versions of events the stream this one replaced applied already: skipped once here. */
  skip: Set<string>;
  /** Settles when the request ends. */
  done: Promise<void>;
}

/** An event's object's resourceVersion, if any. */
function versionOf(ev: WatchEvent): string | undefined {
  const rv = (ev.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

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
  /**
   * Lists and watches started, watches abandoned for silence, renewals of silent watches tried,
   * events delivered by both streams of a renewal (applied once): for tests and logs.
   */
  readonly stats = { lists: 0, watches: 0, expired: 0, abandoned: 0, renewals: 0, duplicates: 0 };
  /** The next watch goes on a new connection (the last one failed or was given up). */
  private freshWatch = false;

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

  /**
   * One watch session: a watch request and, each time it goes silent, its renewal (a new request
   * from the last resourceVersion on a fresh connection, switched to once its head is in; the
   * events both streams deliver are applied once). Resolves to whether it delivered anything (an
   * event, a bookmark, a renewal answered) when the server ends the stream being followed.
   */
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
    const rearm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abandon(`silent for ${grace / 1000} s`), grace);
    };
    let delivered = false;
    let expired: ExpiredError | undefined;
    // The session ends with the stream followed (`current`); a stream replaced ends unheard.
    let endOk!: () => void;
    let endFailed!: (err: unknown) => void;
    const ended = new Promise<void>((resolve, reject) => {
      endOk = resolve;
      endFailed = reject;
    });
    // While a renewal is in flight: the versions of the events applied from the current stream
    // (the renewal, opened from the version before them, delivers them again).
    let recording: string[] | undefined;
    let current: Stream | undefined;
    const onEvent = (s: Stream, ev: WatchEvent) => {
      if (s !== current || expired) return;
      prober.heard(ev.type === 'BOOKMARK');
      rearm();
      delivered = true;
      if (s.skip.size > 0 && ev.type !== 'ERROR') {
        // A bookmark here would move the version back before events already applied.
        if (ev.type === 'BOOKMARK') return;
        const rv = versionOf(ev);
        if (rv !== undefined && s.skip.delete(rv)) {
          this.stats.duplicates++;
          return;
        }
      }
      expired = this.apply(ev);
      if (expired) scope.abort(expired);
      else if (recording && ev.type !== 'BOOKMARK') {
        const rv = versionOf(ev);
        if (rv !== undefined) recording.push(rv);
      }
    };
    const open = (fresh: boolean, onOpen?: () => void): Stream => {
      const s: Stream = { ac: new AbortController(), skip: new Set(), done: Promise.resolve() };
      s.done = this.opts.api.watchNodes(
        { resourceVersion: this.resourceVersion, timeoutSeconds, signal: AbortSignal.any([scope.signal, s.ac.signal]), fresh, ...(onOpen ? { onOpen } : {}) },
        (ev) => onEvent(s, ev),
      );
      s.done.then(
        () => s === current && endOk(),
        (err: unknown) => s === current && endFailed(err),
      );
      return s;
    };
    const renew = async (deadline: AbortSignal): Promise<void> => {
      this.stats.renewals++;
      const from = this.resourceVersion;
      recording = [];
      let opened!: () => void;
      const head = new Promise<void>((resolve) => (opened = resolve));
      const next = open(true, () => opened());
      try {
        await new Promise<void>((resolve, reject) => {
          const onDeadline = () => reject(deadline.reason);
          if (deadline.aborted) onDeadline();
          deadline.addEventListener('abort', onDeadline, { once: true });
          void head.then(resolve);
          next.done.then(
            () => reject(new Error('the renewed watch ended before answering')),
            (err: unknown) => reject(err),
          );
        });
      } catch (err) {
        next.ac.abort(err);
        recording = undefined;
        // The server answered, but the version has left its history: a re-list, as for the stream.
        if (err instanceof StoreError && err.code === KubeErrorCode.expired && !expired) {
          expired = new ExpiredError(errorMessage(err));
          scope.abort(expired);
        }
        throw err;
      }
      const old = current!;
      next.skip = new Set(recording);
      recording = undefined;
      current = next;
      delivered = true;
      rearm();
      old.ac.abort(new Error('renewed on a new connection'));
      this.log.v(1).info(`node watch silent: renewed from resourceVersion ${from} on a new connection`);
    };
    const prober = new WatchSilenceProbe({
      renew,
      signal: scope.signal,
      afterMs: this.opts.watchProbeAfterMs ?? DEFAULT_WATCH_PROBE_AFTER_MS,
      timeoutMs: this.opts.watchProbeTimeoutMs ?? DEFAULT_WATCH_PROBE_TIMEOUT_MS,
      cadence: this.cadence,
      abandon,
    });
    current = open(this.freshWatch);
    try {
      await ended;
      this.freshWatch = false;
    } catch (err) {
      // Whatever ended it, the next watch does not trust the pooled connections.
      this.freshWatch = true;
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
      // A renewal still in flight, a replaced stream still closing: ended with the session.
      scope.abort(new Error('watch ended'));
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
