/**
 * EtcdKV over etcd's JSON gRPC-gateway (HTTP/1.1, node:http/node:https only). Works with
 * etcd 3.4+ (paths /v3/kv/*, /v3/lease/*, /v3/watch, /v3/auth/authenticate). Transport,
 * auth and error translation live in etcd-transport.ts; the watch stream in etcd-watch.ts.
 */
import { EtcdCompactedError, StoreError, errorMessage } from '../../errors.js';
import type { EtcdKV, KeyValue, LeaseGrant, RangeResult, ScanResult, TxnResult, WatchBatch } from './etcd-types.js';
import { streamBody } from './etcd-reply.js';
import { EtcdTransport, type EtcdTransportOptions } from './etcd-transport.js';
import { watchPrefix } from './etcd-watch.js';
import { b64, decodeKeyValue, headerRevision, int, keyAfter, KeyValueDecoder, prefixRangeEnd, putRequest, type WireHeader, type WireRangeResponse } from './etcd-wire.js';
import type { Http1Reply } from './http1-client.js';
import { RangeReplyScanner } from './range-reply-scanner.js';

export type EtcdHttpClientOptions = EtcdTransportOptions;

/** Keys per range request when listing a prefix. */
export const RANGE_PAGE_SIZE = 2000;
/** A listing gives up after this many pages (RANGE_PAGE_SIZE keys each). */
const MAX_PAGES = 100_000;
/** A listing at the current revision restarts at most this often when compacted mid-way. */
const MAX_LISTING_RESTARTS = 3;
const GRPC_OUT_OF_RANGE = 11;
const GRPC_NOT_FOUND = 5;

type Signal = { signal?: AbortSignal | undefined };

/** Internal: a page at a fixed revision was refused as compacted (gRPC OutOfRange). */
class PageCompacted extends Error {
  constructor(readonly endpoint: string) {
    super('compacted');
  }
}

export class EtcdHttpClient implements EtcdKV {
  private readonly transport: EtcdTransport;

  constructor(opts: EtcdHttpClientOptions) {
    this.transport = new EtcdTransport(opts);
  }

  async rangePrefix(prefix: string, opts: { signal?: AbortSignal | undefined; revision?: number | undefined }): Promise<RangeResult> {
    const { items, revision } = await this.scanPrefix(prefix, (kv) => kv, opts);
    return { kvs: items, revision };
  }

  async scanPrefix<T>(
    prefix: string,
    visit: (kv: KeyValue) => T | undefined,
    opts: { signal?: AbortSignal | undefined; revision?: number | undefined },
  ): Promise<ScanResult<T>> {
    for (let restart = 0; ; restart++) {
      try {
        return await this.listPages(prefix, visit, opts.revision, opts.signal);
      } catch (err) {
        if (!(err instanceof PageCompacted)) throw err;
        if (opts.revision !== undefined) {
          // OutOfRange means compacted or not yet written; etcd says which only in its text.
          const { body } = await this.transport.unary<WireRangeResponse>('/v3/kv/range', { key: b64(prefix), count_only: true }, { signal: opts.signal, idempotent: true });
          if (opts.revision > headerRevision(body)) {
            throw new StoreError('ERR_ETCD_REQUEST', err.endpoint, `listing ${JSON.stringify(prefix)} at future revision ${opts.revision}`, { retryable: false });
          }
          throw new EtcdCompactedError(err.endpoint, 0);
        }
        // Compacted between two pages of a listing at the current revision: start over.
        if (restart >= MAX_LISTING_RESTARTS) throw new EtcdCompactedError(err.endpoint, 0);
      }
    }
  }

  async get(key: string, opts: Signal = {}): Promise<KeyValue | undefined> {
    const { body } = await this.transport.unary<WireRangeResponse>('/v3/kv/range', { key: b64(key) }, { signal: opts.signal, idempotent: true });
    const kv = body.kvs?.[0];
    return kv === undefined ? undefined : decodeKeyValue(kv);
  }

  createIfAbsent(
    key: string,
    value: string,
    opts: { lease?: string | undefined; signal?: AbortSignal | undefined; unchangedSince?: { prefix: string; revision: number } | undefined },
  ): Promise<TxnResult> {
    // create_revision "0" is sent explicitly so the compare's oneof target is set, not implied.
    const compares: Record<string, string>[] = [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }];
    const since = opts.unchangedSince;
    if (since) {
      // A range compare: every key under the prefix was last modified at or before `revision`.
      compares.push({
        key: b64(since.prefix),
        range_end: prefixRangeEnd(since.prefix),
        target: 'MOD',
        result: 'LESS',
        mod_revision: String(since.revision + 1),
      });
    }
    return this.txnPut(compares, key, value, opts);
  }

  putIfUnchanged(key: string, value: string, modRevision: number, opts: { lease?: string | undefined; signal?: AbortSignal | undefined }): Promise<TxnResult> {
    const compare = { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) };
    return this.txnPut([compare], key, value, opts);
  }

  async put(key: string, value: string, opts: { lease?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<number> {
    const { body } = await this.transport.unary<{ header?: WireHeader }>('/v3/kv/put', putRequest(key, value, opts.lease), { signal: opts.signal, idempotent: true });
    return headerRevision(body);
  }

  async delete(key: string, opts: Signal = {}): Promise<number> {
    const { body } = await this.transport.unary<{ deleted?: string }>('/v3/kv/deleterange', { key: b64(key) }, { signal: opts.signal, idempotent: true });
    return int(body.deleted);
  }

  async grantLease(ttlSeconds: number, opts: Signal = {}): Promise<LeaseGrant> {
    const { body, endpoint } = await this.transport.unary<{ ID?: string; TTL?: string; error?: string }>(
      '/v3/lease/grant',
      { TTL: String(ttlSeconds) },
      { signal: opts.signal, idempotent: false },
    );
    if (body.error !== undefined && body.error !== '') {
      throw new StoreError('ERR_ETCD_REQUEST', endpoint, `lease grant (TTL ${ttlSeconds}s): ${body.error}`, { retryable: false });
    }
    if (body.ID === undefined) throw new StoreError('ERR_ETCD_REQUEST', endpoint, 'lease grant returned no lease ID', { retryable: false });
    return { id: body.ID, ttlSeconds: int(body.TTL) };
  }

  /**
   * LeaseKeepAlive is a bidirectional stream; one POST to the gateway sends one request and
   * closes the request side, so etcd answers once (`{"result": {...}}`) and ends the reply.
   * A lease that no longer exists comes back without TTL, i.e. 0.
   */
  async keepAliveOnce(id: string, opts: Signal = {}): Promise<number> {
    const { body } = await this.transport.unary<{ TTL?: string }>('/v3/lease/keepalive', { ID: id }, { signal: opts.signal, idempotent: true, streamed: true });
    return Math.max(0, int(body.TTL));
  }

  async timeToLive(id: string, opts: Signal = {}): Promise<number> {
    const { body } = await this.transport.unary<{ TTL?: string }>('/v3/lease/timetolive', { ID: id }, { signal: opts.signal, idempotent: true });
    return int(body.TTL);
  }

  /** timeToLive() with the TTL the lease was granted (or last kept alive) with; ttl -1 when it does not exist. */
  async leaseTimeToLive(id: string, opts: Signal = {}): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }> {
    const { body } = await this.transport.unary<{ TTL?: string; grantedTTL?: string }>('/v3/lease/timetolive', { ID: id }, { signal: opts.signal, idempotent: true });
    return { ttlSeconds: int(body.TTL), grantedTtlSeconds: int(body.grantedTTL) };
  }

  /** Revoking a lease that does not exist (any more) succeeds: the outcome is the same. */
  async revokeLease(id: string, opts: Signal = {}): Promise<void> {
    const gone = new Error('lease not found');
    try {
      await this.transport.unary('/v3/lease/revoke', { ID: id }, { signal: opts.signal, idempotent: true, mapError: (code) => (code === GRPC_NOT_FOUND ? gone : undefined) });
    } catch (err) {
      if (err !== gone) throw err;
    }
  }

  watchPrefix(prefix: string, fromRevision: number, opts: { signal: AbortSignal }): AsyncIterable<WatchBatch> {
    return watchPrefix(this.transport, prefix, fromRevision, opts.signal);
  }

  close(): void {
    this.transport.close();
  }

  private async txnPut(compare: Record<string, string>[], key: string, value: string, opts: { lease?: string | undefined; signal?: AbortSignal | undefined }): Promise<TxnResult> {
    const req = { compare, success: [{ request_put: putRequest(key, value, opts.lease) }], failure: [] };
    const { body } = await this.transport.unary<{ header?: WireHeader; succeeded?: boolean }>('/v3/kv/txn', req, { signal: opts.signal, idempotent: false });
    return { succeeded: body.succeeded === true, revision: headerRevision(body) };
  }

  /**
   * Lists a prefix in pages, every page at the revision of the first one. Each page is read as
   * it arrives (RangeReplyScanner): its key-values go to `visit` one by one and only what
   * `visit` keeps stays, so no page is ever held whole. A page that fails half-way (failover to
   * another endpoint) contributes nothing: its items are kept aside until it is complete.
   */
  private async listPages<T>(prefix: string, visit: (kv: KeyValue) => T | undefined, revision: number | undefined, signal: AbortSignal | undefined): Promise<ScanResult<T>> {
    const rangeEnd = prefixRangeEnd(prefix);
    const items: T[] = [];
    const decoder = new KeyValueDecoder();
    let key = b64(prefix);
    let atRevision = revision;
    // OutOfRange on a range at a revision: compacted (a future revision cannot occur past page 1).
    const mapError = (code: number, endpoint: string) => (code === GRPC_OUT_OF_RANGE && atRevision !== undefined ? new PageCompacted(endpoint) : undefined);
    for (let page = 0; page < MAX_PAGES; page++) {
      const req: Record<string, string> = { key, range_end: rangeEnd, limit: String(RANGE_PAGE_SIZE) };
      if (atRevision !== undefined) req['revision'] = String(atRevision);
      let pageItems: T[] = [];
      let lastKey: string | undefined;
      const consume = async (res: Http1Reply, endpoint: string): Promise<WireRangeResponse> => {
        pageItems = [];
        lastKey = undefined;
        const scanner = new RangeReplyScanner((wire) => {
          lastKey = wire.key;
          const kept = visit(decoder.decode(wire));
          if (kept !== undefined) pageItems.push(kept);
        });
        await streamBody(res, (chunk) => scanner.push(chunk));
        try {
          return scanner.end();
        } catch (err) {
          throw new StoreError('ERR_ETCD_REQUEST', endpoint, `POST /v3/kv/range: reply is not JSON: ${errorMessage(err)}`, { retryable: false, cause: err });
        }
      };
      const { body } = await this.transport.unary<WireRangeResponse>('/v3/kv/range', req, { signal, idempotent: true, mapError, consume });
      atRevision ??= headerRevision(body);
      for (const item of pageItems) items.push(item);
      if (body.more !== true || lastKey === undefined) return { items, revision: atRevision };
      key = keyAfter(lastKey);
    }
    throw new StoreError('ERR_ETCD_REQUEST', '(listing)', `listing ${JSON.stringify(prefix)} exceeded ${MAX_PAGES} pages`, { retryable: false });
  }
}
