import { EtcdCompactedError, StoreError } from '../../src/errors.js';
import type { EtcdKV, KeyValue, LeaseGrant, RangeResult, ScanResult, TxnResult, WatchBatch } from '../../src/subnet/etcd/etcd-types.js';

interface Watcher {
  prefix: string;
  push(batch: WatchBatch): void;
  fail(err: Error): void;
}

/**
 * An in-memory etcd with revisions, leases, compaction and prefix watches, for unit tests of
 * the subnet manager's logic. Faults: `down = true` makes every call fail as unavailable.
 */
export class FakeEtcdKV implements EtcdKV {
  revision = 1;
  compacted = 0;
  down = false;
  calls = new Map<string, number>();
  private readonly store = new Map<string, KeyValue>();
  private readonly leases = new Map<string, number>(); // id -> ttl seconds
  private nextLease = 100;
  private readonly watchers = new Set<Watcher>();
  private readonly history: { revision: number; events: WatchBatch['events'] }[] = [];

  private enter(op: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    if (this.down) throw new StoreError('ERR_ETCD_UNAVAILABLE', 'fake://etcd', 'connection refused', { retryable: true });
  }

  private commit(events: WatchBatch['events']): number {
    this.history.push({ revision: this.revision, events });
    for (const w of this.watchers) if (events.some((e) => e.kv.key.startsWith(w.prefix))) w.push({ revision: this.revision, events: events.filter((e) => e.kv.key.startsWith(w.prefix)) });
    return this.revision;
  }

  private write(key: string, value: string, lease = '0'): number {
    this.revision++;
    const old = this.store.get(key);
    const kv: KeyValue = {
      key,
      value,
      lease,
      createRevision: old?.createRevision ?? this.revision,
      modRevision: this.revision,
      version: (old?.version ?? 0) + 1,
    };
    this.store.set(key, kv);
    return this.commit([{ type: 'put', kv }]);
  }

  /** Deletes keys in one revision (as a revoke or a range delete does). */
  deleteKeys(keys: string[]): number {
    const present = keys.filter((k) => this.store.has(k));
    if (present.length === 0) return this.revision;
    this.revision++;
    const events = present.map((k) => {
      this.store.delete(k);
      return { type: 'delete' as const, kv: { key: k, value: '', lease: '0', createRevision: 0, modRevision: this.revision, version: 0 } };
    });
    return this.commit(events);
  }

  /** Sets a key directly (e.g. a reservation without a lease). */
  set(key: string, value: string, lease = '0'): number {
    return this.write(key, value, lease);
  }

  keys(prefix = ''): string[] {
    return [...this.store.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  raw(key: string): KeyValue | undefined {
    return this.store.get(key);
  }

  compact(revision: number): void {
    this.compacted = revision;
  }

  /** Expires a lease as etcd would: its keys vanish in one revision. */
  expireLease(id: string): void {
    this.leases.delete(id);
    this.deleteKeys([...this.store.values()].filter((kv) => kv.lease === id).map((kv) => kv.key));
  }

  /** Breaks every open watch stream (as an etcd restart does). */
  dropWatches(): void {
    for (const w of this.watchers) w.fail(new StoreError('ERR_ETCD_UNAVAILABLE', 'fake://etcd', 'stream reset', { retryable: true }));
  }

  async rangePrefix(prefix: string): Promise<RangeResult> {
    this.enter('range');
    const kvs = [...this.store.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => a.key.localeCompare(b.key));
    return { kvs, revision: this.revision };
  }

  async scanPrefix<T>(prefix: string, visit: (kv: KeyValue) => T | undefined): Promise<ScanResult<T>> {
    const { kvs, revision } = await this.rangePrefix(prefix);
    const items: T[] = [];
    for (const kv of kvs) {
      const kept = visit(kv);
      if (kept !== undefined) items.push(kept);
    }
    return { items, revision };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.enter('get');
    return this.store.get(key);
  }

  async createIfAbsent(
    key: string,
    value: string,
    opts: { lease?: string | undefined; unchangedSince?: { prefix: string; revision: number } | undefined },
  ): Promise<TxnResult> {
    this.enter('txn');
    if (this.store.has(key)) return { succeeded: false, revision: this.revision };
    const since = opts.unchangedSince;
    if (since && [...this.store.values()].some((kv) => kv.key.startsWith(since.prefix) && kv.modRevision > since.revision)) {
      return { succeeded: false, revision: this.revision };
    }
    return { succeeded: true, revision: this.write(key, value, opts.lease ?? '0') };
  }

  async putIfUnchanged(key: string, value: string, modRevision: number, opts: { lease?: string | undefined }): Promise<TxnResult> {
    this.enter('txn');
    if (this.store.get(key)?.modRevision !== modRevision) return { succeeded: false, revision: this.revision };
    return { succeeded: true, revision: this.write(key, value, opts.lease ?? '0') };
  }

  async put(key: string, value: string, opts?: { lease?: string | undefined }): Promise<number> {
    this.enter('put');
    return this.write(key, value, opts?.lease ?? '0');
  }

  async delete(key: string): Promise<number> {
    this.enter('delete');
    return this.deleteKeys([key]);
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    this.enter('grant');
    const id = String(this.nextLease++);
    this.leases.set(id, ttlSeconds);
    return { id, ttlSeconds };
  }

  async keepAliveOnce(id: string): Promise<number> {
    this.enter('keepalive');
    return this.leases.get(id) ?? 0;
  }

  async timeToLive(id: string): Promise<number> {
    this.enter('ttl');
    return this.leases.get(id) ?? -1;
  }

  async revokeLease(id: string): Promise<void> {
    this.enter('revoke');
    this.expireLease(id);
  }

  liveLeases(): string[] {
    return [...this.leases.keys()];
  }

  async *watchPrefix(prefix: string, fromRevision: number, opts: { signal: AbortSignal }): AsyncIterable<WatchBatch> {
    this.enter('watch');
    if (fromRevision <= this.compacted) throw new EtcdCompactedError('fake://etcd', this.compacted);
    const pending: WatchBatch[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const watcher: Watcher = {
      prefix,
      push: (b) => {
        pending.push(b);
        wake?.();
      },
      fail: (e) => {
        failure = e;
        wake?.();
      },
    };
    for (const h of this.history) {
      if (h.revision >= fromRevision) {
        const events = h.events.filter((e) => e.kv.key.startsWith(prefix));
        if (events.length) pending.push({ revision: h.revision, events });
      }
    }
    this.watchers.add(watcher);
    const onAbort = () => wake?.();
    opts.signal.addEventListener('abort', onAbort);
    try {
      while (!opts.signal.aborted) {
        const b = pending.shift();
        if (b) {
          yield b;
          continue;
        }
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.watchers.delete(watcher);
      opts.signal.removeEventListener('abort', onAbort);
    }
  }

  close(): void {}
}
