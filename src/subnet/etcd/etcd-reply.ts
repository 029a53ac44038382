/**
 * Reading a gateway reply and turning a failed exchange (no reply, cut-off reply, TLS
 * refusal) into a StoreError; used by etcd-transport.ts and etcd-watch.ts.
 */
import { StoreError, errorMessage } from '../../errors.js';
import type { SendState } from './etcd-transport.js';
import type { Http1Reply } from './http1-client.js';
import type { WireError } from './etcd-wire.js';
import { JsonObjectSplitter } from './json-object-splitter.js';

const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Node's error codes for a certificate refused by either side. */
const TLS_AUTH_CODES = /^(ERR_TLS_CERT|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/;

export function readBody(res: Http1Reply): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return streamBody(res, (c) => chunks.push(c)).then(() => Buffer.concat(chunks));
}

/**
 * Hands a reply's body to `onChunk` as it arrives (for replies read as a stream, not held
 * whole); resolves at its end. An exception from onChunk fails the read and the request.
 */
export function streamBody(res: Http1Reply, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // It may have failed before this reader came (see Http1Reply).
    if (res.errored) return reject(res.errored);
    if (res.destroyed && !res.complete) return reject(new Error('connection closed before the reply was complete'));
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy(new Error(`reply larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      try {
        onChunk(c);
      } catch (err) {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    });
    res.on('end', () => resolve());
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the reply was complete'));
    });
  });
}

/** Parses a reply; a streamed reply is `{"result": ...}` or `{"error": ...}` (first object only). */
export function parseReply(text: string, streamed: boolean): { result: unknown; error: WireError | undefined } {
  let first: unknown;
  try {
    first = streamed ? new JsonObjectSplitter().push(Buffer.from(text, 'utf8'))[0] : JSON.parse(text);
  } catch {
    return { result: undefined, error: { message: `reply is not JSON: ${text.slice(0, 200)}` } };
  }
  if (!streamed) return { result: first, error: undefined };
  const obj = (first ?? {}) as { result?: unknown; error?: WireError };
  if (obj.error !== undefined) return { result: undefined, error: obj.error };
  if (obj.result === undefined) return { result: undefined, error: { message: `streamed reply without result: ${text.slice(0, 200)}` } };
  return { result: obj.result, error: undefined };
}

export function transportError(err: unknown, endpoint: string, path: string, state: SendState, timeoutMs: number): StoreError {
  if (state.timedOut) {
    return new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, `POST ${path}: no reply within ${timeoutMs} ms`, { retryable: true, cause: err });
  }
  const code = (err as { code?: unknown }).code;
  const detail = typeof code === 'string' ? `${code}: ${errorMessage(err)}` : errorMessage(err);
  if (typeof code === 'string' && TLS_AUTH_CODES.test(code)) {
    return new StoreError('ERR_ETCD_AUTH', endpoint, `POST ${path}: TLS: ${detail}`, { retryable: false, cause: err });
  }
  return new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, `POST ${path}: ${detail}`, { retryable: true, cause: err });
}
