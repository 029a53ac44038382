import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { vtepMac } from '../../../src/backend/vxlan/vxlan-backend.js';
import { parsePeerLeaseData } from '../../../src/backend/wireguard/wireguard-lease-data.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { parseMac } from '../../../src/kernel/mac-address.js';
import { LeaseGuard } from '../../../src/lease/lease-guard.js';
import { LeaseWatcher, sameAttrs } from '../../../src/lease/lease-watcher.js';
import { leaseId, type Lease, type LeaseId } from '../../../src/lease/lease.js';
import { anyJson, check, macText } from './fuzz-settings.js';

const NETWORK = IPNetwork.parse('10.244.0.0/16');
const own: Lease = {
  subnet: IPNetwork.parse('10.244.1.0/24'),
  ipv6Subnet: undefined,
  attrs: { publicIP: IPAddress.parse('192.168.0.1'), publicIPv6: undefined, backendType: 'vxlan', backendData: undefined, backendV6Data: undefined },
  expiration: undefined,
};

/** Leases crowded into a few addresses so that they overlap each other, this host, and the network's edge. */
const peer: fc.Arbitrary<Lease> = fc
  .record({ second: fc.constantFrom(243, 244, 244, 244, 245), third: fc.integer({ min: 0, max: 7 }), len: fc.integer({ min: 14, max: 26 }), pub: fc.integer({ min: 1, max: 6 }) })
  .map(({ second, third, len, pub }) => ({
    subnet: IPNetwork.of(IPAddress.of(4, BigInt((10 << 24) + (second << 16) + (third << 8))), len),
    ipv6Subnet: undefined,
    attrs: { publicIP: IPAddress.parse(`192.168.0.${pub}`), publicIPv6: undefined, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: `02:00:00:00:00:0${pub}` }, backendV6Data: undefined },
    expiration: undefined,
  }));

describe('fuzz: the lease guard and peer backend data', () => {
  it('whatever the store does, what gets through never overlaps, stays in the network, avoids this host, and a clean lease gets through', () => {
    check(
      fc.property(fc.array(peer, { minLength: 1, maxLength: 12 }), fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 40 }), (pool, ops) => {
        const watcher = new LeaseWatcher(own);
        const guard = new LeaseGuard({ network: NETWORK, ipv6Network: undefined, own, logger: { warn: () => {}, info: () => {} } });
        const store = new Map<LeaseId, Lease>();
        const downstream = new Map<LeaseId, Lease>();
        for (const [i, add] of ops) {
          const l = pool[i % pool.length] as Lease;
          if (add) store.set(leaseId(l), l);
          else store.delete(leaseId(l));
          for (const ev of guard.filter(watcher.update([{ type: add ? 'added' : 'removed', lease: l }]))) {
            if (ev.type === 'added') downstream.set(leaseId(ev.lease), ev.lease);
            else {
              assert.ok(downstream.delete(leaseId(ev.lease)), 'a removal of a lease that was passed on');
            }
          }
        }
        const through = [...downstream.values()];
        assert.equal(through.length, guard.size);
        for (const [k, a] of through.entries()) {
          assert.ok(NETWORK.covers(a.subnet!), `${a.subnet} inside the network`);
          assert.ok(!a.subnet!.overlaps(own.subnet!), `${a.subnet} clear of this host`);
          assert.ok(!a.attrs.publicIP!.equals(own.attrs.publicIP), 'not this host\'s public IP');
          for (const b of through.slice(k + 1)) assert.ok(!a.subnet!.overlaps(b.subnet!), `${a.subnet} and ${b.subnet} overlap`);
          const held = store.get(leaseId(a));
          assert.ok(held && sameAttrs(held, a), 'what got through is what the store holds');
        }
        // A lease with nothing against it (inside, clear of this host and of every other lease in the store) is through.
        for (const l of store.values()) {
          if (leaseId(l) === leaseId(own)) continue;
          const clean =
            NETWORK.covers(l.subnet!) && !l.subnet!.overlaps(own.subnet!) && !l.attrs.publicIP!.equals(own.attrs.publicIP) && [...store.values()].every((o) => o === l || !o.subnet!.overlaps(l.subnet!));
          if (clean) assert.ok(downstream.has(leaseId(l)), `${l.subnet} is clean but was held back`);
        }
      }),
    );
  });

  it('vxlan VtepMAC: any value is a canonical unicast MAC or a reason; MACs round-trip', () => {
    check(
      fc.property(fc.oneof(macText, macText.map((m) => m.toUpperCase()), macText.map((m) => m.replace(/:/g, '-')), fc.string(), anyJson), (mac) => {
        const r = vtepMac({ VtepMAC: mac });
        if (typeof r === 'string') {
          assert.match(r, /^[\da-f]{2}(:[\da-f]{2}){5}$/);
          const b = parseMac(r);
          assert.ok(b.some((x) => x !== 0) && ((b[0] as number) & 1) === 0, r);
          if (typeof mac === 'string') assert.equal(r, mac.toLowerCase().replace(/-/g, ':').trim());
        } else assert.equal(typeof r.problem, 'string');
      }),
    );
  });

  it('wireguard BackendData: any value is a 32-byte non-zero key and a port, or a reason naming the field', () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));
    check(
      fc.property(fc.oneof(fc.record({ PublicKey: fc.oneof(key, fc.string(), anyJson), Port: fc.oneof(fc.integer({ min: -1, max: 70000 }), anyJson) }, { requiredKeys: [] }), anyJson), (raw) => {
        const r = parsePeerLeaseData(raw, 'BackendV6Data');
        if (typeof r === 'string') assert.match(r, /BackendV6Data/);
        else {
          assert.equal(r.publicKey.length, 32);
          assert.ok(r.publicKey.some((b) => b !== 0));
          assert.ok(r.port === undefined || (Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535));
        }
      }),
    );
  });
});
