/**
 * A prefix watch over the gateway's streaming POST /v3/watch. The reply is a sequence of
 * `{"result": WatchResponse}` objects (or one `{"error": ...}`); the first result is the
 * "created" one. Every response with events becomes one WatchBatch holding all its events in
 * order; "created" and progress-notify responses (no events) are not yielded.
 *
 * A watch is quiet when nothing changes, so silence alone says nothing. While it is open and
 * has delivered nothing for `watchProbe.intervalMs`, its endpoint is asked for one key (a range
 * of the watched prefix as a key: cheap, and readable by whoever may watch it). When no answer comes within
 * `watchProbe.timeoutMs` (the endpoint accepts but never answers: packets dropped, a hung
 * member), the stream is abandoned with a retryable StoreError, the transport is told to start
 * elsewhere, and the caller resumes the watch from its last revision on the next endpoint.
 * (etcd's own progress requests cannot be used: over the gateway's HTTP/1.1 the server reads the
 * whole request body before it sends the reply's first byte, so nothing can follow the create.)
 *
 * The probe proves the endpoint answers, not that this stream still flows (one connection
 * stalled, e.g. a lost NAT entry). For that the watch asks for etcd's progress notifications
 * and learns their cadence (the server's --experimental-watch-progress-notify-interval, 10 min
 * by default): once two have come, a stream silent for three of those intervals is abandoned.
 * The cadence is kept per endpoint, so a stream opened later is watched from its first moment.
 */
import { EtcdCompactedError, FlannelError, StoreError } from '../../errors.js';
import type { WatchBatch } from './etcd-types.js';
import { transportError } from './etcd-reply.js';
import type { EtcdTransport, OpenStream } from './etcd-transport.js';
import { errorMessage } from '../../errors.js';
import { b64, decodeEvent, headerRevision, int, prefixRangeEnd, type WireError, type WireWatchResponse } from './etcd-wire.js';
import { JsonObjectSplitter } from './json-object-splitter.js';

const PATH = '/v3/watch';

type StreamEnd = 'aborted' | 'reauthenticate';

export async function* watchPrefix(transport: EtcdTransport, prefix: string, fromRevision: number, signal: AbortSignal): AsyncGenerator<WatchBatch> {
  const body = {
    create_request: {
      key: b64(prefix),
      range_end: prefixRangeEnd(prefix),
      start_revision: String(fromRevision),
      prev_kv: false,
      progress_notify: true,
    },
  };
  const combined = AbortSignal.any([signal, transport.closedSignal]);
  // At most two streams: the second only after re-authenticating once.
  for (let attempt = 0; attempt < 2; attempt++) {
    let stream: OpenStream;
    try {
      stream = await transport.stream(PATH, body, combined);
    } catch (err) {
      if (combined.aborted) return;
      throw err;
    }
    try {
      const end = yield* readStream(transport, stream, combined, attempt === 0 && transport.hasCredentials, b64(prefix));
      if (end === 'aborted') return;
      await transport.renewToken(combined);
    } finally {
      stream.release();
    }
  }
}

async function* readStream(transport: EtcdTransport, stream: OpenStream, signal: AbortSignal, mayReauthenticate: boolean, probeKey: string): AsyncGenerator<WatchBatch, StreamEnd> {
  const endpoint = stream.endpoint;
  const splitter = new JsonObjectSplitter();
  const prober = new WatchProber(transport, endpoint, probeKey, signal, (err) => stream.release(err));
  try {
    for await (const chunk of stream.res as AsyncIterable<Buffer>) {
      for (const obj of splitter.push(chunk)) {
        const { result, error } = obj as { result?: WireWatchResponse; error?: WireError };
        if (error !== undefined) throw transport.streamError(error, endpoint, PATH);
        const r = result ?? {};
        const compactRevision = int(r.compact_revision);
        if (compactRevision > 0) throw new EtcdCompactedError(endpoint, compactRevision);
        if (r.canceled === true) {
          // etcd cancels a watch whose token it rejects; any other reason is final too.
          if (mayReauthenticate) return 'reauthenticate';
          const code = transport.hasCredentials ? 'ERR_ETCD_AUTH' : 'ERR_ETCD_REQUEST';
          throw new StoreError(code, endpoint, `watch cancelled by etcd: ${r.cancel_reason ?? 'no reason given'}`, { retryable: false });
        }
        if (r.created === true) stream.clearTimer();
        const events = r.events;
        prober.heard(r.created !== true && (events === undefined || events.length === 0));
        if (events !== undefined && events.length > 0) {
          yield { revision: headerRevision(r), events: events.map(decodeEvent) };
        }
      }
    }
  } catch (err) {
    if (signal.aborted) return 'aborted';
    if (prober.failure) throw prober.failure;
    if (err instanceof FlannelError) throw err;
    if (err instanceof SyntaxError) {
      throw new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, `watch stream is not JSON: ${err.message}`, { retryable: true, cause: err });
    }
    throw transportError(err, endpoint, PATH, { sent: true, timedOut: false }, 0);
  }
  finally {
    prober.stop();
  }
  if (signal.aborted) return 'aborted';
  throw new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, 'watch stream ended', { retryable: true });
}

/**
 * Asks the watch's endpoint for one key every interval while the stream is open; the first
 * probe without an answer within its deadline ends the stream (`abandon`) and is `failure`.
 */
export class WatchProber {
  failure: StoreError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private silence: NodeJS.Timeout | undefined;
  private lastProgressAt = 0;
  /** When the stream last delivered anything: a stream that speaks needs no probe. */
  private lastHeardAt = 0;
  /** The shortest gap seen between two progress notifications: the server's interval. */
  private cadenceMs: number;
  private readonly ac = new AbortController();

  constructor(
    private readonly transport: Pick<EtcdTransport, 'probe' | 'avoid' | 'watchProbe' | 'progressCadence' | 'noteProgressCadence' | 'watchSilenceMs'>,
    private readonly endpoint: string,
    private readonly key: string,
    signal: AbortSignal,
    private readonly abandon: (err: StoreError) => void,
  ) {
    this.cadenceMs = transport.progressCadence.get(endpoint) ?? 0;
    if (signal.aborted) return;
    signal.addEventListener('abort', () => this.stop(), { once: true, signal: this.ac.signal });
    this.schedule();
    this.heard(false);
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.silence);
    this.ac.abort();
  }

  /** Something came on the stream; `progress` when it was a progress notification. */
  heard(progress: boolean): void {
    if (this.ac.signal.aborted) return;
    const now = Date.now();
    this.lastHeardAt = now;
    if (progress) {
      if (this.lastProgressAt > 0) {
        const gap = now - this.lastProgressAt;
        this.cadenceMs = this.cadenceMs === 0 ? gap : Math.min(this.cadenceMs, gap);
        this.transport.noteProgressCadence(this.endpoint, this.cadenceMs);
      }
      this.lastProgressAt = now;
    }
    if (this.cadenceMs === 0) return;
    const deadline = this.transport.watchSilenceMs(this.cadenceMs);
    clearTimeout(this.silence);
    this.silence = setTimeout(() => {
      const why = `no progress notification for ${deadline} ms (etcd sends one every ~${this.cadenceMs} ms)`;
      this.fail(new StoreError('ERR_ETCD_UNAVAILABLE', this.endpoint, `watch abandoned: the stream went silent: ${why}`, { retryable: true }));
    }, deadline);
    this.silence.unref();
  }

  private fail(failure: StoreError): void {
    this.failure = failure;
    this.stop();
    this.abandon(failure);
  }

  /** The next probe in `delayMs` (an interval after the stream last spoke, at the latest). */
  private schedule(delayMs = this.transport.watchProbe.intervalMs): void {
    if (this.ac.signal.aborted) return;
    this.timer = setTimeout(() => void this.probe(), delayMs);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    const { intervalMs, timeoutMs } = this.transport.watchProbe;
    // The stream delivered something within the interval: its connection works, skip this round
    // (a busy cluster's agents then send no probes at all; an idle one's, one per interval).
    const quietMs = Date.now() - this.lastHeardAt;
    if (quietMs < intervalMs) {
      this.schedule(intervalMs - quietMs);
      return;
    }
    try {
      await this.transport.probe(this.endpoint, '/v3/kv/range', { key: this.key, keys_only: true }, timeoutMs, this.ac.signal);
    } catch (err) {
      if (this.ac.signal.aborted) return;
      const why = errorMessage(err);
      this.transport.avoid(this.endpoint, why);
      this.fail(new StoreError('ERR_ETCD_UNAVAILABLE', this.endpoint, `watch abandoned: its endpoint did not answer a probe (${why})`, { retryable: true, cause: err }));
      return;
    }
    this.schedule();
  }
}
