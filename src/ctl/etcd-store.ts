/**
 * CtlStore over etcd, through flannel-ts's own etcd client (EtcdHttpClient) and flannel's key
 * layout: `<prefix>/config`, `<prefix>/subnets/<ip>-<len>[&<ip6>-<len>]` whose value is
 * LeaseAttrs JSON, bound to an etcd lease (a key without one is a reservation).
 */
import { describeLease, decodeLeaseAttrs, encodeLeaseAttrs, parseSubnetKey, subnetKey, type Lease } from '../lease/lease.js';
import { errorMessage } from '../errors.js';
import type { IPAddress } from '../ip/ip-address.js';
import { EtcdHttpClient } from '../subnet/etcd/etcd-http-client.js';
import type { KeyValue } from '../subnet/etcd/etcd-types.js';
import type { CtlOptions, CtlStore, LeaseListing, ReservationStore, SkippedNode, StoreLease, StoredConfig } from './ctl-context.js';

/** How many etcd lease TTLs are asked at once while listing. */
const TTL_CONCURRENCY = 16;

/** The etcd calls the store makes: EtcdHttpClient, or a fake in tests. */
export type EtcdStoreClient = Pick<EtcdHttpClient, 'rangePrefix' | 'get' | 'put' | 'delete' | 'createIfAbsent' | 'putIfUnchanged' | 'revokeLease' | 'leaseTimeToLive' | 'close'>;

export function openEtcdStore(options: CtlOptions): Promise<CtlStore> {
  const e = options.etcd;
  const client = new EtcdHttpClient({
    endpoints: e.endpoints,
    caFile: e.caFile,
    certFile: e.certFile,
    keyFile: e.keyFile,
    username: e.username,
    password: e.password,
  });
  return Promise.resolve(new EtcdCtlStore(client, e.prefix, e.endpoints.join(',')));
}

export class EtcdCtlStore implements CtlStore {
  readonly kind = 'etcd';
  readonly reservations: ReservationStore;
  private readonly prefix: string;
  private readonly subnets: string;

  constructor(
    private readonly kv: EtcdStoreClient,
    prefix: string,
    readonly where: string,
  ) {
    this.prefix = prefix.replace(/\/+$/, '');
    this.subnets = `${this.prefix}/subnets/`;
    this.reservations = {
      add: (nets, attrs, signal) => this.reserve(nets, attrs, signal),
      remove: (nets, signal) => this.unreserve(nets, signal),
    };
  }

  async listLeases(signal: AbortSignal): Promise<LeaseListing> {
    const { kvs } = await this.kv.rangePrefix(this.subnets, { signal });
    const skipped: SkippedNode[] = [];
    const parsed: { kv: KeyValue; lease: Lease }[] = [];
    for (const kv of kvs) {
      const lease = this.leaseOf(kv, skipped);
      if (lease) parsed.push({ kv, lease });
    }
    // One time-to-live request per etcd lease, a few at a time.
    const ttls = new Map<string, { ttlSeconds: number; grantedTtlSeconds: number }>();
    const ids = [...new Set(parsed.map((p) => p.kv.lease).filter((id) => id !== '0'))];
    for (let i = 0; i < ids.length; i += TTL_CONCURRENCY) {
      const batch = ids.slice(i, i + TTL_CONCURRENCY);
      const answers = await Promise.all(batch.map((id) => this.kv.leaseTimeToLive(id, { signal })));
      batch.forEach((id, j) => ttls.set(id, answers[j] ?? { ttlSeconds: -1, grantedTtlSeconds: 0 }));
    }
    const leases = parsed.map(({ kv, lease }): StoreLease => {
      const t = ttls.get(kv.lease);
      const alive = t !== undefined && t.ttlSeconds >= 0;
      return {
        lease,
        key: kv.key,
        storeLeaseId: kv.lease,
        reserved: kv.lease === '0',
        ttlSeconds: alive ? t.ttlSeconds : undefined,
        grantedTtlSeconds: alive ? t.grantedTtlSeconds : undefined,
        modRevision: kv.modRevision,
      };
    });
    return { leases, skipped };
  }

  async getConfig(signal: AbortSignal): Promise<StoredConfig | undefined> {
    const kv = await this.kv.get(this.configKey, { signal });
    return kv === undefined ? undefined : { text: kv.value, source: `etcd key ${this.configKey}` };
  }

  async putConfig(text: string, signal: AbortSignal): Promise<StoredConfig> {
    await this.kv.put(this.configKey, text, { signal });
    return { text, source: `etcd key ${this.configKey}` };
  }

  async removeLease(l: StoreLease, signal: AbortSignal): Promise<boolean> {
    const now = await this.kv.get(l.key, { signal });
    if (now === undefined) return true;
    if (l.modRevision !== undefined && now.modRevision !== l.modRevision) return false;
    await this.kv.delete(l.key, { signal });
    if (now.lease !== '0') await this.kv.revokeLease(now.lease, { signal }).catch(() => {});
    return true;
  }

  close(): void {
    this.kv.close();
  }

  private get configKey(): string {
    return `${this.prefix}/config`;
  }

  private leaseOf(kv: KeyValue, skipped: SkippedNode[]): Lease | undefined {
    const nets = parseSubnetKey(kv.key.slice(this.subnets.length));
    if (!nets) {
      skipped.push({ node: kv.key, reason: 'not a subnet key' });
      return undefined;
    }
    try {
      const attrs = decodeLeaseAttrs(kv.value);
      return { subnet: nets.subnet, ipv6Subnet: nets.ipv6Subnet, attrs, expiration: undefined, storeLeaseId: kv.lease, revision: kv.modRevision };
    } catch (err) {
      skipped.push({ node: kv.key, reason: `malformed value: ${errorMessage(err)}` });
      return undefined;
    }
  }

  private async reserve(
    nets: Pick<Lease, 'subnet' | 'ipv6Subnet'>,
    attrs: Lease['attrs'],
    signal: AbortSignal,
  ): Promise<Awaited<ReturnType<ReservationStore['add']>>> {
    const key = this.subnets + subnetKey(nets.subnet, nets.ipv6Subnet);
    const value = encodeLeaseAttrs(attrs);
    const existing = await this.kv.get(key, { signal });
    if (existing === undefined) {
      const res = await this.kv.createIfAbsent(key, value, { signal });
      if (res.succeeded) return { outcome: 'created', key };
      return this.reserve(nets, attrs, signal); // created meanwhile: decide again on what is there
    }
    const holder = this.leaseOf(existing, []);
    const sameHost = holder !== undefined && sameAddress(holder.attrs.publicIP, attrs.publicIP) && sameAddress(holder.attrs.publicIPv6, attrs.publicIPv6);
    if (existing.lease !== '0' && !sameHost) {
      const h: StoreLease | undefined = holder && { lease: holder, key, storeLeaseId: existing.lease, reserved: false, modRevision: existing.modRevision };
      return { outcome: 'taken', key, holder: h };
    }
    // The same host's lease becomes permanent (flannel: "remove the TTL"), or a reservation is rewritten.
    // The holder's own attributes (backend data) are kept when the public IPs are the same.
    const keep = existing.lease !== '0' && holder ? encodeLeaseAttrs(holder.attrs) : value;
    const res = await this.kv.putIfUnchanged(key, keep, existing.modRevision, { signal });
    if (!res.succeeded) return this.reserve(nets, attrs, signal);
    if (existing.lease !== '0') await this.kv.revokeLease(existing.lease, { signal }).catch(() => {});
    return { outcome: existing.lease === '0' ? 'updated' : 'converted', key };
  }

  private async unreserve(nets: Pick<Lease, 'subnet' | 'ipv6Subnet'>, signal: AbortSignal): Promise<Awaited<ReturnType<ReservationStore['remove']>>> {
    const key = this.subnets + subnetKey(nets.subnet, nets.ipv6Subnet);
    const existing = await this.kv.get(key, { signal });
    if (existing === undefined) return { outcome: 'not-found', key };
    if (existing.lease !== '0') return { outcome: 'not-reserved', key };
    await this.kv.delete(key, { signal });
    return { outcome: 'removed', key };
  }
}

function sameAddress(a: IPAddress | undefined, b: IPAddress | undefined): boolean {
  return a === undefined ? b === undefined : a.equals(b);
}

/** For messages: "10.5.3.0/24 (key /coreos.com/network/subnets/10.5.3.0-24)". */
export function describeStoreLease(l: StoreLease): string {
  return `${describeLease(l.lease)} (${l.node !== undefined ? `node ${l.node}` : `key ${l.key}`})`;
}
