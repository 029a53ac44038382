import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import { sleep } from '../../async/abortable-sleep.js';
import { Backoff } from '../../async/backoff.js';
import { parseNetworkConfig, type NetworkConfig } from '../../config/network-config.js';
import {
  ConfigError,
  EtcdCompactedError,
  FlannelError,
  LeaseLostError,
  StoreError,
  SubnetExhaustedError,
  errorMessage,
} from '../../errors.js';
import {
  decodeLeaseAttrs,
  describeLease,
  encodeLeaseAttrs,
  parseSubnetKey,
  sameLeaseKey,
  subnetKey,
  type Lease,
  type LeaseAttrs,
  type LeaseEvent,
} from '../../lease/lease.js';
import type { Logger } from '../../log/logger.js';
import { leaseFitsConfig, pickFreeSubnets, preferredIsFree } from '../subnet-allocator.js';
import type { AcquireOptions, LeaseWatchResult, SubnetManager } from '../subnet-manager.js';
import type { EtcdKV, KeyValue } from './etcd-types.js';

export interface EtcdSubnetManagerOptions {
  readonly kv: EtcdKV;
  /** e.g. /coreos.com/network */
  readonly prefix: string;
  readonly leaseTtlSeconds: number;
  readonly logger: Logger;
  readonly knownBackends?: readonly string[];
  /** How many create attempts before giving up one acquire call (races with other hosts). */
  readonly maxAttempts?: number;
  /** Lease watches resumed (flannel_store_watch_resumes_total{store="etcd"}). */
  readonly metrics?: StoreMetrics;
  readonly random?: () => number;
}

/** Flannel's etcd v3 subnet manager, wire-compatible with Go flannel's keys and values. */
export class EtcdSubnetManager implements SubnetManager {
  readonly name = 'etcd';
  private readonly kv: EtcdKV;
  private readonly prefix: string;
  private readonly subnetsPrefix: string;
  private readonly log: Logger;
  private config: NetworkConfig | undefined;
  /** The listing of the last acquire, handed to the next watch so start-up lists only once. */
  private recentListing: { leases: Lease[]; revision: number; atMs: number } | undefined;
  private watchStarted = false;

  constructor(private readonly opts: EtcdSubnetManagerOptions) {
    this.kv = opts.kv;
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.subnetsPrefix = `${this.prefix}/subnets/`;
    this.log = opts.logger;
  }

  async getNetworkConfig(signal: AbortSignal): Promise<NetworkConfig> {
    const key = `${this.prefix}/config`;
    const backoff = new Backoff(500, 10_000);
    for (;;) {
      try {
        const kv = await this.kv.get(key, { signal });
        if (kv) {
          this.config = parseNetworkConfig(kv.value, { knownBackends: this.opts.knownBackends });
          return this.config;
        }
        this.log.warn(`network config key ${key} not found in etcd; is the network configured? retrying`);
      } catch (err) {
        if (signal.aborted || err instanceof ConfigError) throw err;
        this.log.warn(`failed to read network config ${key}: ${errorMessage(err)}; retrying`);
      }
      await backoff.wait(signal);
    }
  }

  async acquireLease(attrs: LeaseAttrs, opts: AcquireOptions): Promise<Lease> {
    const config = this.requireConfig();
    const value = encodeLeaseAttrs(attrs);
    const attempts = this.opts.maxAttempts ?? 10;
    let granted: string | undefined;
    try {
      for (let i = 0; i < attempts; i++) {
        const { leases, kvs, revision } = await this.listLeases(opts.signal, (l) => sameHost(l.attrs, attrs, config));
        // Only the first watch can use it; later re-acquisitions must not pin a stale copy.
        if (!this.watchStarted) this.recentListing = { leases, revision, atMs: Date.now() };
        const mine = leases.find((l) => sameHost(l.attrs, attrs, config) && leaseFitsConfig(config, l));
        if (mine) {
          const kv = this.lastKVFor(mine, leases, kvs);
          if (!kv) continue;
          const taken = await this.retake(mine, kv, value, opts.signal);
          if (taken) return this.remember({ ...taken, attrs });
          continue;
        }
        let target = opts.preferred && preferredIsFree(config, opts.preferred, leases) ? opts.preferred : undefined;
        if (!target) {
          const picked = pickFreeSubnets(config, leases, this.opts.random);
          if (picked.exhausted) {
            const range =
              picked.exhausted === 4
                ? `[${config.subnetMin?.toString()}, ${config.subnetMax?.toString()}] of Network ${config.network?.toString()}`
                : `[${config.ipv6SubnetMin?.toString()}, ${config.ipv6SubnetMax?.toString()}] of IPv6Network ${config.ipv6Network?.toString()}`;
            throw new SubnetExhaustedError(range);
          }
          target = picked;
        }
        granted ??= (await this.kv.grantLease(this.opts.leaseTtlSeconds, { signal: opts.signal })).id;
        const key = this.subnetsPrefix + subnetKey(target.subnet, target.ipv6Subnet);
        // A dual-stack key names both subnets, so two hosts could create different keys sharing
        // one subnet; then the create also requires that no lease changed since the listing.
        const dual = target.subnet !== undefined && target.ipv6Subnet !== undefined;
        const res = await this.kv.createIfAbsent(key, value, {
          lease: granted,
          signal: opts.signal,
          unchangedSince: dual ? { prefix: this.subnetsPrefix, revision } : undefined,
        });
        if (res.succeeded) {
          const lease: Lease = {
            subnet: target.subnet,
            ipv6Subnet: target.ipv6Subnet,
            attrs,
            expiration: new Date(Date.now() + this.opts.leaseTtlSeconds * 1000),
            storeLeaseId: granted,
            revision: res.revision,
          };
          granted = undefined;
          return this.remember(lease);
        }
        this.log.v(1).info(`subnet ${key} was taken by another host meanwhile; trying again`);
      }
      throw new StoreError('ERR_ACQUIRE_CONTENDED', this.subnetsPrefix, `could not create a lease after ${attempts} attempts`, {
        retryable: true,
      });
    } finally {
      if (granted) await this.kv.revokeLease(granted).catch(() => {});
    }
  }

  /** Takes back this host's existing lease (or reservation), refreshing its value and TTL. */
  private async retake(mine: Lease, kv: KeyValue, value: string, signal?: AbortSignal): Promise<Lease | undefined> {
    if (kv.lease === '0') {
      const res = await this.kv.putIfUnchanged(kv.key, value, kv.modRevision, { signal });
      if (!res.succeeded) return undefined;
      this.log.info(`using reserved subnet ${describeLease(mine)} (a key without TTL)`);
      return { ...mine, expiration: undefined, storeLeaseId: '0', revision: res.revision };
    }
    if (kv.value === value) {
      // Same attributes: keep the key as it is and only refresh its etcd lease.
      const ttl = await this.kv.keepAliveOnce(kv.lease, { signal });
      if (ttl > 0) {
        return { ...mine, expiration: new Date(Date.now() + ttl * 1000), storeLeaseId: kv.lease, revision: kv.modRevision };
      }
    }
    const fresh = await this.kv.grantLease(this.opts.leaseTtlSeconds, { signal });
    const res = await this.kv.putIfUnchanged(kv.key, value, kv.modRevision, { lease: fresh.id, signal });
    if (!res.succeeded) {
      await this.kv.revokeLease(fresh.id).catch(() => {});
      return undefined;
    }
    // The key now lives on the fresh lease; the old one holds nothing of ours.
    await this.kv.revokeLease(kv.lease).catch(() => {});
    return {
      ...mine,
      expiration: new Date(Date.now() + fresh.ttlSeconds * 1000),
      storeLeaseId: fresh.id,
      revision: res.revision,
    };
  }

  async renewLease(lease: Lease, signal: AbortSignal): Promise<Lease> {
    if (!lease.storeLeaseId || lease.storeLeaseId === '0') return lease;
    const ttl = await this.kv.keepAliveOnce(lease.storeLeaseId, { signal });
    if (ttl <= 0) throw new LeaseLostError(describeLease(lease), `etcd lease ${lease.storeLeaseId} no longer exists`);
    return { ...lease, expiration: new Date(Date.now() + ttl * 1000) };
  }

  async *watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult> {
    let revision: number | undefined;
    const backoff = new Backoff(200, 5_000);
    // Reuse the acquire's listing, when fresh, for the first snapshot only: the watch from its
    // revision replays everything since, so nothing is missed and 5,000 leases are not read
    // twice. A later re-list (after compaction) must read the store: a listing cached by a
    // re-acquisition meanwhile is older than what the watch already delivered.
    let initial = this.takeRecentListing();
    this.watchStarted = true;
    while (!signal.aborted) {
      try {
        if (revision === undefined) {
          const { leases, revision: rev } = initial ?? (await this.listLeases(signal));
          initial = undefined;
          revision = rev;
          yield { kind: 'snapshot', leases };
        }
        let rev: number = revision;
        for await (const batch of this.kv.watchPrefix(this.subnetsPrefix, rev + 1, { signal })) {
          backoff.reset();
          const events: LeaseEvent[] = [];
          let last = rev;
          for (const ev of batch.events) {
            last = Math.max(last, ev.kv.modRevision);
            const e = this.toEvent(ev.type, ev.kv);
            if (e) events.push(e);
          }
          rev = batch.events.length > 0 ? last : Math.max(rev, batch.revision);
          revision = rev;
          if (events.length > 0) yield { kind: 'events', events };
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof EtcdCompactedError) {
          this.log.warn(`lease watch fell behind etcd compaction (${err.compactRevision}); re-listing`);
          this.opts.metrics?.storeWatchResume('etcd');
          revision = undefined;
          // Re-list at once the first time; back off if compaction keeps overtaking us.
          if (backoff.failures === 0) {
            void backoff.nextDelay();
            continue;
          }
        } else if (!(err instanceof FlannelError)) {
          throw err;
        } else {
          this.log.warn(`lease watch interrupted: ${errorMessage(err)}; ${revision === undefined ? 're-listing' : `resuming from revision ${revision + 1}`}`);
          this.opts.metrics?.storeWatchResume('etcd');
        }
      }
      await sleep(backoff.nextDelay(), signal).catch(() => {});
    }
  }

  close(): void {
    this.kv.close();
  }

  /** Puts the lease just taken into the cached listing, so the watch's first snapshot has it. */
  private remember(lease: Lease): Lease {
    const l = this.recentListing;
    if (l) l.leases = [...l.leases.filter((x) => !sameLeaseKey(x, lease)), lease];
    return lease;
  }

  private takeRecentListing(): { leases: Lease[]; revision: number } | undefined {
    const l = this.recentListing;
    this.recentListing = undefined;
    return l && Date.now() - l.atMs < RECENT_LISTING_MAX_AGE_MS ? l : undefined;
  }

  private requireConfig(): NetworkConfig {
    if (!this.config) throw new FlannelError('ERR_STATE', 'getNetworkConfig() must be called before acquiring a lease');
    return this.config;
  }

  /**
   * The leases under the prefix, read as the listing streams in (no page and no key-value is
   * held beyond its lease). With `keepKvOf`, the key-values of the leases it accepts are kept
   * too (the acquire's candidates for this host's own lease), and those of keys not written
   * in the canonical form (e.g. "10.5.1.0-024"), which cannot be rebuilt from their lease.
   */
  private async listLeases(signal?: AbortSignal, keepKvOf?: (l: Lease) => boolean): Promise<{ leases: Lease[]; kvs: Map<Lease, KeyValue>; revision: number }> {
    const kvs = new Map<Lease, KeyValue>();
    const visit = (kv: KeyValue): Lease | undefined => {
      const lease = this.leaseFromKV(kv);
      if (lease && keepKvOf && (keepKvOf(lease) || !this.isCanonicalKey(kv.key, lease))) kvs.set(lease, kv);
      return lease;
    };
    const { items, revision } = await this.kv.scanPrefix(this.subnetsPrefix, visit, { signal });
    return { leases: items, kvs, revision };
  }

  private isCanonicalKey(key: string, lease: Lease): boolean {
    const suffix = subnetKey(lease.subnet, lease.ipv6Subnet);
    return key.length === this.subnetsPrefix.length + suffix.length && key.endsWith(suffix);
  }

  /**
   * The key-value of the last listed lease with `mine`'s subnets (etcd lists keys in order; two
   * keys can name the same subnets, e.g. "10.5.1.0-24" and "10.5.1.0-024"). One not kept by
   * the listing is rebuilt from its lease: its key is canonical; its value, not kept, matters
   * only when it is this host's (then it was kept), so it is left empty.
   */
  private lastKVFor(mine: Lease, leases: readonly Lease[], kvs: ReadonlyMap<Lease, KeyValue>): KeyValue | undefined {
    for (let i = leases.length - 1; i >= 0; i--) {
      const l = leases[i]!;
      if (!sameLeaseKey(l, mine)) continue;
      return (
        kvs.get(l) ?? {
          key: this.subnetsPrefix + subnetKey(l.subnet, l.ipv6Subnet),
          value: '',
          createRevision: 0,
          modRevision: l.revision ?? 0,
          version: 0,
          lease: l.storeLeaseId ?? '0',
        }
      );
    }
    return undefined;
  }

  private toEvent(type: 'put' | 'delete', kv: KeyValue): LeaseEvent | undefined {
    // A watched key in another form than flannel writes ("10.5.1.0-024") names the subnets of
    // another key: its put would replace that lease's value in every peer's view, its delete
    // remove it. Only the acquire's listing reads such keys (this host's own lease).
    const nets = parseSubnetKey(kv.key.slice(this.subnetsPrefix.length), { exact: true });
    if (!nets) {
      this.log.v(2).info(`ignoring watched key ${kv.key}: not a subnet key in flannel's form`);
      return undefined;
    }
    if (type === 'delete') {
      const lease: Lease = { ...nets, attrs: EMPTY_ATTRS, expiration: undefined, revision: kv.modRevision };
      return { type: 'removed', lease };
    }
    const lease = this.leaseFromKV(kv);
    return lease ? { type: 'added', lease } : undefined;
  }

  private leaseFromKV(kv: KeyValue): Lease | undefined {
    const nets = parseSubnetKey(kv.key.slice(this.subnetsPrefix.length));
    if (!nets) {
      this.log.v(2).info(`ignoring key ${kv.key}: not a subnet key`);
      return undefined;
    }
    let attrs: LeaseAttrs;
    try {
      attrs = decodeLeaseAttrs(kv.value);
    } catch (err) {
      this.log.warn(`ignoring lease ${kv.key}: malformed value: ${errorMessage(err)}`);
      return undefined;
    }
    return { subnet: nets.subnet, ipv6Subnet: nets.ipv6Subnet, attrs, expiration: undefined, storeLeaseId: kv.lease, revision: kv.modRevision };
  }
}

/** How old an acquire's listing may be to start the watch from (etcd keeps history far longer). */
const RECENT_LISTING_MAX_AGE_MS = 30_000;

const EMPTY_ATTRS: LeaseAttrs = {
  publicIP: undefined,
  publicIPv6: undefined,
  backendType: undefined,
  backendData: undefined,
  backendV6Data: undefined,
};

/** flannel finds a host's own lease by its public IP (IPv6 public IP for IPv6-only networks). */
function sameHost(a: LeaseAttrs, b: LeaseAttrs, config: NetworkConfig): boolean {
  if (config.enableIPv4) return a.publicIP !== undefined && a.publicIP.equals(b.publicIP);
  return a.publicIPv6 !== undefined && a.publicIPv6.equals(b.publicIPv6);
}
