/**
 * A prefix watch over the gateway's streaming POST /v3/watch. The reply is a sequence of
 * `{"result": WatchResponse}` objects (or one `{"error": ...}`); the first result is the
 * "created" one. Every response with events becomes one WatchBatch holding all its events in
 * order; "created" and progress-notify responses (no events) are not yielded.
 */
import { EtcdCompactedError, FlannelError, StoreError } from '../../errors.js';
import type { WatchBatch } from './etcd-types.js';
import { transportError } from './etcd-reply.js';
import type { EtcdTransport, OpenStream } from './etcd-transport.js';
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
      const end = yield* readStream(transport, stream, combined, attempt === 0 && transport.hasCredentials);
      if (end === 'aborted') return;
      await transport.renewToken(combined);
    } finally {
      stream.release();
    }
  }
}

async function* readStream(transport: EtcdTransport, stream: OpenStream, signal: AbortSignal, mayReauthenticate: boolean): AsyncGenerator<WatchBatch, StreamEnd> {
  const endpoint = stream.endpoint;
  const splitter = new JsonObjectSplitter();
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
        if (events !== undefined && events.length > 0) {
          yield { revision: headerRevision(r), events: events.map(decodeEvent) };
        }
      }
    }
  } catch (err) {
    if (signal.aborted) return 'aborted';
    if (err instanceof FlannelError) throw err;
    if (err instanceof SyntaxError) {
      throw new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, `watch stream is not JSON: ${err.message}`, { retryable: true, cause: err });
    }
    throw transportError(err, endpoint, PATH, { sent: true, timedOut: false }, 0);
  }
  if (signal.aborted) return 'aborted';
  throw new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, 'watch stream ended', { retryable: true });
}
