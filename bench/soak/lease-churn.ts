/**
 * Simulated hosts whose leases churn in etcd: host i (1..count) owns subnet 10.0.<i>.0/24
 * (bench/support/peer-leases.ts's lease i) and, while present, a lease with a VtepMAC and public
 * IP that change over its life. One operation per step: join, leave, new VtepMAC, new public IP,
 * or "expire" (re-put under a short-TTL etcd lease that nobody keeps alive).
 */
import { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import type { Cluster } from '../../test/cluster/harness.js';
import { peerLease } from '../support/peer-leases.js';

export type ChurnOp = 'join' | 'leave' | 'mac' | 'ip' | 'expire';

/** TTL of an "expire" lease, s: long enough to be programmed first, short enough to lapse within a churn phase. */
export const EXPIRE_TTL_S = 5;

interface SimHost {
  key: string;
  present: boolean;
  /** Bumped on every MAC or IP change, to make new values. */
  generation: number;
  mac: string;
  publicIP: string;
  /** When a short-TTL lease lapses (ms since epoch), else undefined. */
  expiresAt: number | undefined;
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

export class LeaseChurn {
  readonly counts: Record<ChurnOp, number> = { join: 0, leave: 0, mac: 0, ip: 0, expire: 0 };
  /** Store calls that failed (e.g. while etcd restarts); the step is skipped. */
  failures = 0;
  readonly #hosts: SimHost[] = [];
  readonly #client: EtcdHttpClient;
  readonly #random: () => number;
  #longLease = '';

  constructor(cluster: Cluster, count: number, random: () => number) {
    this.#client = new EtcdHttpClient({ endpoints: [cluster.etcd.unixEndpoint] });
    this.#random = random;
    for (let i = 1; i <= count; i++) {
      const base = peerLease(i, 'vxlan');
      const v = JSON.parse(base.value) as { PublicIP: string; BackendData: { VtepMAC: string } };
      this.#hosts.push({ key: base.key, present: false, generation: 0, mac: v.BackendData.VtepMAC, publicIP: v.PublicIP, expiresAt: undefined });
    }
  }

  /** Grants the 1 h lease normal keys live under and joins every host. */
  async start(signal: AbortSignal): Promise<void> {
    this.#longLease = (await this.#client.grantLease(3600, { signal })).id;
    for (const h of this.#hosts) await this.#put(h, this.#longLease, signal);
  }

  close(): void {
    this.#client.close();
  }

  #value(h: SimHost): string {
    return JSON.stringify({ PublicIP: h.publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: h.mac } });
  }

  async #put(h: SimHost, lease: string, signal: AbortSignal): Promise<void> {
    await this.#client.put(h.key, this.#value(h), { lease, signal });
    h.present = true;
  }

  #pick(): SimHost {
    return this.#hosts[Math.floor(this.#random() * this.#hosts.length)] ?? (this.#hosts[0] as SimHost);
  }

  /** One churn operation on a random host; a failed store call is counted, not thrown. */
  async step(signal: AbortSignal): Promise<void> {
    const h = this.#pick();
    if (h.expiresAt !== undefined && Date.now() >= h.expiresAt) {
      h.present = false;
      h.expiresAt = undefined;
    }
    let op: ChurnOp;
    if (!h.present) op = 'join';
    else {
      const ops: ChurnOp[] = ['leave', 'mac', 'ip', 'expire'];
      op = ops[Math.floor(this.#random() * ops.length)] ?? 'mac';
    }
    try {
      if (op === 'leave') {
        await this.#client.delete(h.key, { signal });
        h.present = false;
        h.expiresAt = undefined;
      } else if (op === 'expire') {
        const lease = await this.#client.grantLease(EXPIRE_TTL_S, { signal });
        await this.#put(h, lease.id, signal);
        h.expiresAt = Date.now() + EXPIRE_TTL_S * 1000;
      } else {
        h.generation++;
        const g = h.generation & 0xffff;
        const i = this.#hosts.indexOf(h) + 1;
        if (op === 'mac') h.mac = `0a:fd:${hex(g >> 8)}:${hex(g & 255)}:00:${hex(i & 255)}`;
        if (op === 'ip') h.publicIP = `192.168.${100 + (g % 100)}.${i & 255}`;
        await this.#put(h, this.#longLease, signal);
        h.expiresAt = undefined;
      }
      this.counts[op]++;
    } catch (err) {
      if (signal.aborted) throw err;
      this.failures++;
    }
  }

  /** Whether some host's short-TTL lease may still lapse (the store is still changing by itself). */
  expiriesPending(now = Date.now()): boolean {
    return this.#hosts.some((h) => h.expiresAt !== undefined && h.expiresAt + 2000 > now);
  }
}
