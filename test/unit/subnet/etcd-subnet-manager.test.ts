import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, LeaseLostError, SubnetExhaustedError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { Lease, LeaseAttrs } from '../../../src/lease/lease.js';
import { nullLogger } from '../../../src/log/logger.js';
import { EtcdSubnetManager } from '../../../src/subnet/etcd/etcd-subnet-manager.js';
import type { LeaseWatchResult } from '../../../src/subnet/subnet-manager.js';
import { FakeEtcdKV } from '../../fakes/fake-etcd-kv.js';

const PREFIX = '/coreos.com/network';
const attrs = (ip: string): LeaseAttrs => ({
  publicIP: IPAddress.parse(ip),
  publicIPv6: undefined,
  backendType: undefined,
  backendData: undefined,
  backendV6Data: undefined,
});

async function manager(kv: FakeEtcdKV, config: object, extra: { random?: () => number } = {}) {
  kv.set(`${PREFIX}/config`, JSON.stringify(config));
  const sm = new EtcdSubnetManager({ kv, prefix: PREFIX, leaseTtlSeconds: 60, logger: nullLogger(), knownBackends: ['alloc'], ...extra });
  await sm.getNetworkConfig(AbortSignal.timeout(2000));
  return sm;
}

const CFG = { Network: '10.5.0.0/16', SubnetMin: '10.5.1.0', SubnetMax: '10.5.3.0', Backend: { Type: 'alloc' } };

describe('EtcdSubnetManager', () => {
  it('creates a lease with flannel key and exact value, bound to an etcd lease', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG, { random: () => 0 });
    const lease = await sm.acquireLease(attrs('192.168.77.11'), {});
    assert.equal(lease.subnet?.toString(), '10.5.1.0/24');
    const raw = kv.raw(`${PREFIX}/subnets/10.5.1.0-24`);
    assert.ok(raw);
    assert.equal(raw.value, '{"PublicIP":"192.168.77.11","PublicIPv6":null}');
    assert.notEqual(raw.lease, '0');
    assert.equal(lease.storeLeaseId, raw.lease);
  });

  it('gives the same host its existing lease back, refreshing it without a new key', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG);
    const first = await sm.acquireLease(attrs('192.168.77.11'), {});
    const before = kv.raw(`${PREFIX}/subnets/${first.subnet?.ip.toString()}-24`);
    const again = await sm.acquireLease(attrs('192.168.77.11'), {});
    assert.equal(again.subnet?.toString(), first.subnet?.toString());
    assert.equal(kv.keys(`${PREFIX}/subnets/`).length, 1);
    assert.equal(kv.raw(`${PREFIX}/subnets/${first.subnet?.ip.toString()}-24`)?.modRevision, before?.modRevision);
  });

  it('takes back its lease stored under a key in another form (10.5.1.0-024), refreshing that very key', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG);
    const { id } = await kv.grantLease(60);
    const key = `${PREFIX}/subnets/10.5.1.0-024`;
    kv.set(key, '{"PublicIP":"192.168.77.11","PublicIPv6":null}', id);
    kv.set(`${PREFIX}/subnets/10.5.2.0-24`, '{"PublicIP":"192.168.77.12","PublicIPv6":null}', id);
    const before = kv.raw(key);
    const lease = await sm.acquireLease(attrs('192.168.77.11'), {});
    assert.equal(lease.subnet?.toString(), '10.5.1.0/24');
    assert.equal(lease.storeLeaseId, id);
    assert.deepEqual(kv.keys(`${PREFIX}/subnets/`), [key, `${PREFIX}/subnets/10.5.2.0-24`]);
    assert.equal(kv.raw(key)?.modRevision, before?.modRevision);
  });

  it('takes back its lease among thousands listed, with a changed value written under the same key', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, { Network: '10.0.0.0/8', Backend: { Type: 'alloc' } });
    const others = await kv.grantLease(60);
    const { id } = await kv.grantLease(60);
    for (let i = 1; i <= 3000; i++) {
      const key = `${PREFIX}/subnets/10.${i >> 8}.${i & 255}.0-24`;
      kv.set(key, `{"PublicIP":"172.16.${i >> 8}.${i & 255}","PublicIPv6":null}`, i === 7 * 256 + 7 ? id : others.id);
    }
    const mine = `${PREFIX}/subnets/10.7.7.0-24`;
    const lease = await sm.acquireLease({ ...attrs('172.16.7.7'), backendType: 'alloc' }, {});
    assert.equal(lease.subnet?.toString(), '10.7.7.0/24');
    assert.equal(kv.raw(mine)?.value, '{"PublicIP":"172.16.7.7","PublicIPv6":null,"BackendType":"alloc"}');
    assert.notEqual(kv.raw(mine)?.lease, id);
    assert.equal(kv.keys(`${PREFIX}/subnets/`).length, 3000);
  });

  it('prefers the subnet from subnet.env when free, ignores it when taken or outside the network', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG, { random: () => 0 });
    const pref = { subnet: IPNetwork.parse('10.5.3.0/24') };
    assert.equal((await sm.acquireLease(attrs('192.168.77.11'), { preferred: pref })).subnet?.toString(), '10.5.3.0/24');
    assert.equal((await sm.acquireLease(attrs('192.168.77.12'), { preferred: pref })).subnet?.toString(), '10.5.1.0/24');
    const outside = { subnet: IPNetwork.parse('10.9.0.0/24') };
    assert.equal((await sm.acquireLease(attrs('192.168.77.13'), { preferred: outside })).subnet?.toString(), '10.5.2.0/24');
  });

  it('never takes a reservation of another host, and uses its own reservation without a TTL', async () => {
    const kv = new FakeEtcdKV();
    kv.set(`${PREFIX}/subnets/10.5.1.0-24`, '{"PublicIP":"192.168.77.99","PublicIPv6":null}');
    kv.set(`${PREFIX}/subnets/10.5.2.0-24`, '{"PublicIP":"192.168.77.12","PublicIPv6":null}');
    const sm = await manager(kv, CFG, { random: () => 0 });
    const a = await sm.acquireLease(attrs('192.168.77.11'), {});
    assert.equal(a.subnet?.toString(), '10.5.3.0/24');
    const b = await sm.acquireLease(attrs('192.168.77.12'), {});
    assert.equal(b.subnet?.toString(), '10.5.2.0/24');
    assert.equal(b.expiration, undefined);
    assert.equal(kv.raw(`${PREFIX}/subnets/10.5.2.0-24`)?.lease, '0');
  });

  it('reports exhaustion naming the range, and leaks no etcd lease', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG);
    for (const ip of ['192.168.77.11', '192.168.77.12', '192.168.77.13']) await sm.acquireLease(attrs(ip), {});
    const leasesBefore = kv.liveLeases().length;
    await assert.rejects(sm.acquireLease(attrs('192.168.77.14'), {}), (err: unknown) => {
      assert.ok(err instanceof SubnetExhaustedError);
      assert.match(err.message, /10\.5\.1\.0, 10\.5\.3\.0/);
      return true;
    });
    assert.equal(kv.liveLeases().length, leasesBefore);
  });

  it('allocates dual-stack leases with flannel dual keys', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, { ...CFG, EnableIPv6: true, IPv6Network: 'fc00:5::/48' }, { random: () => 0 });
    const l = await sm.acquireLease({ ...attrs('192.168.77.11'), publicIPv6: IPAddress.parse('fd77::11') }, {});
    assert.equal(l.ipv6Subnet?.toString(), 'fc00:5:0:1::/64');
    assert.deepEqual(kv.keys(`${PREFIX}/subnets/`), [`${PREFIX}/subnets/10.5.1.0-24&fc00:5:0:1::-64`]);
  });

  it('rejects a config with an unknown backend type, naming the field', async () => {
    const kv = new FakeEtcdKV();
    kv.set(`${PREFIX}/config`, JSON.stringify({ Network: '10.5.0.0/16', Backend: { Type: 'carrier-pigeon' } }));
    const sm = new EtcdSubnetManager({ kv, prefix: PREFIX, leaseTtlSeconds: 60, logger: nullLogger(), knownBackends: ['alloc'] });
    await assert.rejects(sm.getNetworkConfig(AbortSignal.timeout(2000)), (err: unknown) => err instanceof ConfigError && err.field === 'Backend.Type');
  });

  it('waits for a missing config and retries while etcd is down', async () => {
    const kv = new FakeEtcdKV();
    kv.down = true;
    const sm = new EtcdSubnetManager({ kv, prefix: PREFIX, leaseTtlSeconds: 60, logger: nullLogger() });
    const pending = sm.getNetworkConfig(AbortSignal.timeout(10_000));
    const until = Date.now() + 5000;
    while ((kv.calls.get('get') ?? 0) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    kv.down = false;
    kv.set(`${PREFIX}/config`, JSON.stringify(CFG));
    assert.equal((await pending).network?.toString(), '10.5.0.0/16');
    assert.ok((kv.calls.get('get') ?? 0) >= 2);
  });

  it('renews through keepalive and reports a lost lease', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG);
    const lease = await sm.acquireLease(attrs('192.168.77.11'), {});
    const renewed = await sm.renewLease(lease, AbortSignal.timeout(1000));
    assert.ok(renewed.expiration);
    kv.expireLease(lease.storeLeaseId ?? '');
    await assert.rejects(sm.renewLease(lease, AbortSignal.timeout(1000)), LeaseLostError);
  });

  it('watches: snapshot first, every event of a batch, re-list after compaction, resume after a drop', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, { Network: '10.0.0.0/8', Backend: { Type: 'alloc' } });
    const lease = await kv.grantLease(60);
    for (let i = 1; i <= 1000; i++) kv.set(`${PREFIX}/subnets/10.${i >> 8}.${i & 255}.0-24`, '{"PublicIP":"192.168.1.1","PublicIPv6":null}', lease.id);
    const ac = new AbortController();
    const results: LeaseWatchResult[] = [];
    const done = (async () => {
      for await (const r of sm.watchLeases(ac.signal)) results.push(r);
    })();
    const waitFor = async (pred: () => boolean, what: string) => {
      const until = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await waitFor(() => results.length === 1, 'snapshot');
    assert.equal(results[0]?.kind, 'snapshot');
    assert.equal(results[0]?.kind === 'snapshot' && results[0].leases.length, 1000);
    kv.expireLease(lease.id);
    await waitFor(() => results.length === 2, 'removal batch');
    const batch = results[1];
    assert.ok(batch?.kind === 'events');
    assert.equal(batch.events.length, 1000);
    assert.ok(batch.events.every((e) => e.type === 'removed'));
    kv.dropWatches();
    kv.set(`${PREFIX}/subnets/10.9.9.0-24`, '{"PublicIP":"192.168.1.2","PublicIPv6":null}');
    await waitFor(() => results.length === 3, 'event after reconnect');
    assert.ok(results[2]?.kind === 'events');
    // Drop the stream, write while it is down, and compact past the watcher's position.
    kv.dropWatches();
    kv.set(`${PREFIX}/subnets/10.9.10.0-24`, '{"PublicIP":"192.168.1.3","PublicIPv6":null}');
    kv.compact(kv.revision);
    await waitFor(() => results.length === 4, 'snapshot after compaction');
    const snap = results[3];
    assert.ok(snap?.kind === 'snapshot');
    assert.deepEqual(snap.leases.map((l) => l.subnet?.toString()).sort(), ['10.9.10.0/24', '10.9.9.0/24']);
    ac.abort();
    await done;
  });

  it('starts the watch from the acquire listing (no second read), with its own new lease in the snapshot', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG, { random: () => 0 });
    kv.set(`${PREFIX}/subnets/10.5.3.0-24`, '{"PublicIP":"192.168.77.13","PublicIPv6":null}');
    const own = await sm.acquireLease(attrs('192.168.77.11'), {});
    const ranges = kv.calls.get('range') ?? 0;
    const ac = new AbortController();
    const it = sm.watchLeases(ac.signal)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(kv.calls.get('range') ?? 0, ranges);
    assert.ok(first.value?.kind === 'snapshot');
    const nets = first.value.leases.map((l: Lease) => l.subnet?.toString()).sort();
    assert.deepEqual(nets, [own.subnet?.toString(), '10.5.3.0/24'].sort());
    ac.abort();
    await it.return?.();
  });

  it('re-lists from the store after compaction even when a re-acquisition cached an older listing', async () => {
    const kv = new FakeEtcdKV();
    const sm = await manager(kv, CFG, { random: () => 0 });
    const own = await sm.acquireLease(attrs('192.168.77.11'), {});
    const ac = new AbortController();
    const it = sm.watchLeases(ac.signal)[Symbol.asyncIterator]();
    assert.ok((await it.next()).value?.kind === 'snapshot');
    // A re-acquisition (the key was lost) lists the leases again; then one more lease appears.
    await sm.acquireLease(attrs('192.168.77.11'), { preferred: own });
    kv.set(`${PREFIX}/subnets/10.5.3.0-24`, '{"PublicIP":"192.168.77.13","PublicIPv6":null}');
    // Events up to that one (the replay of the own lease's creation comes first).
    const isNew = (r: LeaseWatchResult | undefined) => r?.kind === 'events' && r.events.some((e) => e.lease.subnet?.toString() === '10.5.3.0/24');
    for (let i = 0; i < 3 && !isNew((await it.next()).value as LeaseWatchResult | undefined); i++);
    // The stream drops, a lease is written and compacted away: the watch must re-list, and its
    // snapshot must come from the store, not from the listing the re-acquisition made.
    const next = it.next();
    const tick = () => new Promise((r) => setImmediate(r));
    await tick();
    kv.dropWatches();
    await tick();
    kv.set(`${PREFIX}/subnets/10.5.2.0-24`, '{"PublicIP":"192.168.77.12","PublicIPv6":null}');
    kv.compact(kv.revision);
    const snap = (await next).value as LeaseWatchResult | undefined;
    assert.ok(snap?.kind === 'snapshot');
    assert.deepEqual(snap.leases.map((l) => l.subnet?.toString()).sort(), [own.subnet?.toString(), '10.5.2.0/24', '10.5.3.0/24'].sort());
    ac.abort();
    await it.return?.();
  });

  it('dual-stack: two hosts racing for one IPv4 subnet with different IPv6 subnets never both win', async () => {
    const kv = new FakeEtcdKV();
    const cfg = { ...CFG, EnableIPv6: true, IPv6Network: 'fc00:5::/48' };
    let n = 0;
    // Host A always picks the first free subnets; host B picks the first IPv4 but the second IPv6.
    const a = await manager(kv, cfg, { random: () => 0 });
    const b = await manager(kv, cfg, { random: () => (n++ % 2 === 0 ? 0 : 0.5) });
    const v6 = (ip: string) => ({ ...attrs(ip), publicIPv6: IPAddress.parse(`fd77::${ip.split('.')[3]}`) });
    const [la, lb] = await Promise.all([a.acquireLease(v6('192.168.77.11'), {}), b.acquireLease(v6('192.168.77.12'), {})]);
    assert.notEqual(la.subnet?.toString(), lb.subnet?.toString());
    assert.notEqual(la.ipv6Subnet?.toString(), lb.ipv6Subnet?.toString());
  });
});
