/**
 * The node watch's silence deadline: how a watch whose connection stopped answering (packets
 * dropped, a connection accepted but never answered, a stream stalled mid-way, no RST) is
 * noticed, modelled on the etcd watch probe (src/subnet/etcd/etcd-watch.ts).
 *
 * Silence alone says nothing: nodes change rarely, and a real API server sends a BOOKMARK
 * about once a minute. So while a watch has delivered nothing for `afterMs`, it is RENEWED: the
 * informer opens a new watch from the last resourceVersion on a fresh connection (never a
 * pooled one) and, when that watch's response head is in within `timeoutMs`, switches to it
 * and drops the old stream (nothing lost: the new one starts where the old one stood; events
 * both delivered are applied once). No head in time: the API server does not answer, and the
 * watch is given up (the informer re-opens it, with backoff while that keeps failing).
 *
 * Why a renewal rather than a probe such as GET /version: a probe proves that the server
 * answers a new connection, not that the watch's own connection still flows (HTTP/1.1 cannot
 * ask anything on it), so one stalled connection while new ones work (a lost NAT entry, a
 * frozen proxy) went unnoticed until the bookmarks' cadence caught it (~3 min against a real
 * server). The renewal answers both questions with the one request the probe cost: the server
 * answered, and the stream now runs on a connection just proven to work. Both would double the
 * cost and tell nothing more.
 *
 * A stream that speaks needs no renewal: the timer is not re-armed per event, it only looks,
 * when it fires, at how long the stream has been quiet, and sleeps the rest. A busy cluster's
 * agents therefore send none, an idle one's one per `afterMs`.
 *
 * The bookmarks' cadence is still learnt, as the etcd side learns its progress notifications':
 * from the gaps between bookmarks on one stream (known after two bookmarks; the largest of the
 * last three gaps, so the odd early bookmark, e.g. the one a server sends just before the
 * watch's timeout, does not shrink it); once known, a stream silent for three of those gaps (at
 * least `timeoutMs`) is given up, which bounds a stall when `afterMs` is set long. The cadence
 * outlives one stream, so a re-opened one is watched from its first moment.
 *
 * Defaults (5 s, 3 s): a silent stream is renewed 5 s after its last word; a stalled one is
 * then replaced within milliseconds, an unreachable server given up at 8 s, which leaves ~2 s of
 * the 10 s budget for re-opening the watch (a new connection, TLS, the response's head) and
 * applying what it brings. A healthy server sends a watch's head in milliseconds; 3 s is far
 * above that (a new TLS handshake included), yet short of the budget.
 * FLANNEL_KUBE_WATCH_PROBE_SEC and FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC change them.
 */
import { ConfigError, errorMessage } from '../../errors.js';

export const DEFAULT_WATCH_PROBE_AFTER_MS = 5_000;
export const DEFAULT_WATCH_PROBE_TIMEOUT_MS = 3_000;
export const WATCH_PROBE_ENV = 'FLANNEL_KUBE_WATCH_PROBE_SEC';
export const WATCH_PROBE_TIMEOUT_ENV = 'FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC';

/** Bookmark gaps kept to learn the cadence from. */
const GAPS_KEPT = 3;

/** Seconds from the environment (fractions allowed), in ms; undefined when not set. */
function secondsFromEnv(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const sec = Number(raw);
  if (!Number.isFinite(sec) || sec <= 0 || sec > 3600) throw new ConfigError(name, raw, 'must be a number of seconds in (0, 3600]');
  return Math.round(sec * 1000);
}

/** The probe's settings from FLANNEL_KUBE_WATCH_PROBE_SEC / _TIMEOUT_SEC (unset: undefined, the defaults). */
export function watchProbeFromEnv(env: Readonly<Record<string, string | undefined>>): { watchProbeAfterMs?: number; watchProbeTimeoutMs?: number } {
  const afterMs = secondsFromEnv(env, WATCH_PROBE_ENV);
  const timeoutMs = secondsFromEnv(env, WATCH_PROBE_TIMEOUT_ENV);
  return { ...(afterMs === undefined ? {} : { watchProbeAfterMs: afterMs }), ...(timeoutMs === undefined ? {} : { watchProbeTimeoutMs: timeoutMs }) };
}

/** What one informer learns of its server's bookmarks, across its watches. */
export class BookmarkCadence {
  private gaps: number[] = [];

  /** The server's bookmark interval (ms), 0 while unknown. */
  get ms(): number {
    return this.gaps.length === 0 ? 0 : Math.max(...this.gaps);
  }

  add(gapMs: number): void {
    this.gaps.push(gapMs);
    if (this.gaps.length > GAPS_KEPT) this.gaps.shift();
  }
}

export interface WatchSilenceProbeOptions {
  /**
   * Opens a new stream from the last resourceVersion on a fresh connection and switches to it;
   * resolves once switched, rejects when the new stream's head did not come before `deadline`
   * aborted (the attempt then given up). Undefined: no renewal, only the bookmark cadence.
   */
  readonly renew: ((deadline: AbortSignal) => Promise<void>) | undefined;
  /** The watch's own scope: aborted, the probe stops. */
  readonly signal: AbortSignal;
  readonly afterMs: number;
  readonly timeoutMs: number;
  readonly cadence: BookmarkCadence;
  /** Called once, with the reason, when the watch is to be given up. */
  readonly abandon: (why: string) => void;
  readonly now?: () => number;
}

/** One watch's probe; heard() on every event, stop() when the watch ends. */
export class WatchSilenceProbe {
  /** Renewals attempted, for tests and logs. */
  renewals = 0;
  private timer: NodeJS.Timeout | undefined;
  private silence: NodeJS.Timeout | undefined;
  private lastHeardAt: number;
  private lastBookmarkAt = 0;
  private done = false;
  private readonly now: () => number;

  constructor(private readonly o: WatchSilenceProbeOptions) {
    this.now = o.now ?? Date.now;
    this.lastHeardAt = this.now();
    if (o.signal.aborted) {
      this.done = true;
      return;
    }
    o.signal.addEventListener('abort', () => this.stop(), { once: true });
    if (o.renew !== undefined) this.schedule(o.afterMs);
    this.armSilence();
  }

  /** Something came on the stream; `bookmark` when it was a BOOKMARK. */
  heard(bookmark: boolean): void {
    if (this.done) return;
    const now = this.now();
    this.lastHeardAt = now;
    if (bookmark) {
      if (this.lastBookmarkAt > 0) this.o.cadence.add(now - this.lastBookmarkAt);
      this.lastBookmarkAt = now;
    }
    this.armSilence();
  }

  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.silence);
  }

  /** With a known cadence: the stream is given up after three bookmark intervals of silence. */
  private armSilence(): void {
    const cadence = this.o.cadence.ms;
    if (cadence === 0) return;
    const deadline = Math.max(3 * cadence, this.o.timeoutMs);
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.fail(`no event or bookmark for ${deadline} ms (the API server sends a bookmark every ~${cadence} ms)`), deadline);
    this.silence.unref();
  }

  private schedule(delayMs: number): void {
    if (this.done) return;
    this.timer = setTimeout(() => void this.renew(), delayMs);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const { afterMs, timeoutMs } = this.o;
    // The stream spoke within the interval: its connection works, no request this round.
    const quietMs = this.now() - this.lastHeardAt;
    if (quietMs < afterMs) {
      this.schedule(afterMs - quietMs);
      return;
    }
    this.renewals++;
    // A timer of our own rather than AbortSignal.timeout, so that tests can drive it with mock timers.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      await this.o.renew!(AbortSignal.any([this.o.signal, deadline.signal]));
    } catch (err) {
      if (!this.done && !this.o.signal.aborted) this.fail(`silent for ${afterMs} ms and the API server did not answer a renewed watch within ${timeoutMs} ms: ${errorMessage(err)}`);
      return;
    } finally {
      clearTimeout(timer);
    }
    // The new stream is the one watched now: its opening is its first word.
    if (this.done) return;
    this.lastHeardAt = this.now();
    this.lastBookmarkAt = 0;
    this.armSilence();
    this.schedule(afterMs);
  }

  private fail(why: string): void {
    if (this.done) return;
    this.stop();
    this.o.abandon(why);
  }
}
