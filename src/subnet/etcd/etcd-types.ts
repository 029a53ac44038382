/**
 * The slice of the etcd v3 KV, Lease and Watch API that the subnet manager uses. Keys and
 * values are UTF-8 strings here; revisions are numbers (safe below 2^53); lease ids are
 * decimal strings ("0" = no lease) because they use all 64 bits.
 */
import type { Logger } from '../../log/logger.js';
import type { StoreMetrics } from '../../metrics/agent-metrics.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** The etcd lease the key is bound to; "0" when none (a reservation in flannel's terms). */
  readonly lease: string;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  /** The store revision the listing was read at. */
  readonly revision: number;
}

/** A listing whose key-values were handed one by one to a visitor, with what it kept. */
export interface ScanResult<T> {
  readonly items: T[];
  /** The store revision the listing was read at. */
  readonly revision: number;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
}

/** All events of one watch response, in order, with the response header's revision. */
export interface WatchBatch {
  readonly revision: number;
  readonly events: WatchEvent[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
}

export interface LeaseGrant {
  readonly id: string;
  readonly ttlSeconds: number;
}

export interface EtcdClientOptions {
  /** e.g. ["http://127.0.0.1:2379", "https://10.0.0.1:2379"]; tried in turn, failing over. */
  readonly endpoints: readonly string[];
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /**
   * Deadline of every unary call (range, txn, lease grant/keep-alive/revoke) and of a watch's
   * creation, per endpoint tried (default 5 s): an endpoint that accepts a connection but never
   * answers is given up on after this long and the next one is tried.
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * How often an open watch checks that its endpoint still answers (default 2 s). The gateway's
   * watch cannot carry etcd's progress requests over HTTP/1.1 (the server reads the whole
   * request before it answers), so the check is a one-key range on the watch's endpoint.
   */
  readonly watchProbeIntervalMs?: number | undefined;
  /** The check's deadline (default 3 s): past it the watch is abandoned and resumed elsewhere. */
  readonly watchProbeTimeoutMs?: number | undefined;
  /** Endpoint switches and silent watches are logged here (warnings). */
  readonly logger?: Logger | undefined;
  /** Requests, errors and reconnects (flannel_store_*{store="etcd"}). */
  readonly metrics?: StoreMetrics | undefined;
}

/** What the subnet manager needs from etcd; the HTTP implementation is EtcdHttpClient. */
export interface EtcdKV {
  /** All keys under a prefix, paginated internally so any number of keys costs few requests. */
  rangePrefix(prefix: string, opts: { signal?: AbortSignal | undefined; revision?: number | undefined }): Promise<RangeResult>;
  /**
   * rangePrefix() that hands each key-value, in key order, to `visit` as it is read and keeps
   * only what `visit` returns (undefined: nothing): a listing of thousands of keys is never
   * held whole. Restarted listings (compaction between pages) visit the keys again.
   */
  scanPrefix<T>(
    prefix: string,
    visit: (kv: KeyValue) => T | undefined,
    opts: { signal?: AbortSignal | undefined; revision?: number | undefined },
  ): Promise<ScanResult<T>>;
  get(key: string, opts?: { signal?: AbortSignal | undefined }): Promise<KeyValue | undefined>;
  /**
   * Puts the key only if it does not exist (create_revision == 0), atomically; with
   * `unchangedSince`, also only if no key under that prefix changed after that revision.
   */
  createIfAbsent(
    key: string,
    value: string,
    opts: {
      lease?: string | undefined;
      signal?: AbortSignal | undefined;
      unchangedSince?: { prefix: string; revision: number } | undefined;
    },
  ): Promise<TxnResult>;
  /** Puts the key only if its mod revision is still `modRevision` (compare-and-swap). */
  putIfUnchanged(
    key: string,
    value: string,
    modRevision: number,
    opts: { lease?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<TxnResult>;
  put(key: string, value: string, opts?: { lease?: string | undefined; signal?: AbortSignal | undefined }): Promise<number>;
  delete(key: string, opts?: { signal?: AbortSignal | undefined }): Promise<number>;
  grantLease(ttlSeconds: number, opts?: { signal?: AbortSignal | undefined }): Promise<LeaseGrant>;
  /** Refreshes a lease once; returns the new TTL in seconds, or 0 when the lease no longer exists. */
  keepAliveOnce(id: string, opts?: { signal?: AbortSignal | undefined }): Promise<number>;
  /** Remaining TTL in seconds; -1 when the lease does not exist. */
  timeToLive(id: string, opts?: { signal?: AbortSignal | undefined }): Promise<number>;
  revokeLease(id: string, opts?: { signal?: AbortSignal | undefined }): Promise<void>;
  /**
   * Watches every key under `prefix` from `fromRevision`, yielding every event of every
   * response. Throws EtcdCompactedError when fromRevision is compacted, a retryable StoreError
   * when the connection drops; returns when the signal aborts.
   */
  watchPrefix(prefix: string, fromRevision: number, opts: { signal: AbortSignal }): AsyncIterable<WatchBatch>;
  close(): void;
}
