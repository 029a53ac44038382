import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MalformedInputError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { parseAddress } from '../../../src/kernel/address.js';
import { AttrIndex } from '../../../src/kernel/attr-index.js';
import { toKernelEvent } from '../../../src/kernel/events.js';
import { toFdbEntry } from '../../../src/kernel/fdb.js';
import { parseFamilyId } from '../../../src/kernel/genetlink.js';
import { parseLink } from '../../../src/kernel/link.js';
import { parseNeighborMessage, toNeighbor } from '../../../src/kernel/neighbor.js';
import { AttrWriter, parseAttrs, parseMessages, type NetlinkMessage } from '../../../src/kernel/netlink-codec.js';
import * as C from '../../../src/kernel/netlink-constants.js';
import { parseRoute } from '../../../src/kernel/route.js';
import { encodeSetDevice, parseDeviceDump, parseSockaddr } from '../../../src/kernel/wireguard-genl.js';
import { check, expectTypedOrValue } from './fuzz-settings.js';

const bytes = (max = 96) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const TYPES = [C.RTM_NEWLINK, C.RTM_DELLINK, C.RTM_NEWADDR, C.RTM_DELADDR, C.RTM_NEWROUTE, C.RTM_DELROUTE, C.RTM_NEWNEIGH, C.RTM_DELNEIGH];

/** Attributes with random types and payloads (including lengths the parsers do not expect), well framed. */
const attrRun = fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), bytes(24)), { maxLength: 8 }).map((attrs) => {
  const w = new AttrWriter();
  for (const [type, data] of attrs) w.bytes(type & 0x3fff, data);
  return w.toBuffer();
});

/** A payload: a header of some length (maybe short) then attributes, or garbage. */
const payload = fc.oneof(bytes(), fc.tuple(bytes(20), attrRun).map(([h, a]) => Buffer.concat([h, a])), fc.tuple(fc.constantFrom(2, 10, 7, 0), bytes(15), attrRun).map(([af, h, a]) => Buffer.concat([Buffer.from([af]), h, a])));

const message = fc.record({ type: fc.oneof(fc.constantFrom(...TYPES), fc.integer({ min: 0, max: 0xffff })), flags: fc.integer({ min: 0, max: 0xffff }), seq: fc.nat(), pid: fc.nat(), payload });

function typed<T>(fn: () => T): T | Error {
  return expectTypedOrValue(fn, { typed: MalformedInputError });
}

describe('fuzz: netlink replies (our rtnetlink and generic netlink codec)', () => {
  it('framing: parseMessages and parseAttrs never throw and stay inside the buffer', () => {
    check(
      fc.property(bytes(256), fc.nat({ max: 300 }), (buf, off) => {
        for (const m of parseMessages(buf)) assert.ok(m.payload.length <= buf.length);
        for (const [, v] of parseAttrs(buf, off)) assert.ok(v.length <= buf.length);
        const idx = new AttrIndex(20).scan(buf, off);
        for (let t = 0; t <= 22; t++) {
          idx.u32(t);
          idx.ip(t);
          idx.mac(t);
        }
      }),
    );
  });

  it('any message: an event, nothing, or a MalformedInputError (never a RangeError out of a socket callback)', () => {
    check(
      fc.property(message, (m: NetlinkMessage) => {
        typed(() => toKernelEvent(m));
        typed(() => parseRoute(m));
        typed(() => parseLink(m));
        typed(() => parseAddress(m));
        const n = typed(() => parseNeighborMessage(m));
        if (!(n instanceof Error)) {
          toNeighbor(n);
          toFdbEntry(n);
        }
        parseFamilyId(m.payload);
        parseSockaddr(m.payload);
        parseDeviceDump([m]);
      }),
    );
  });

  it('a route as rtnetlink lays it out parses back to the same route', () => {
    const route = fc.record({
      family: fc.constantFrom(4, 6),
      ip: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
      len: fc.nat({ max: 128 }),
      gw: fc.option(fc.bigInt({ min: 1n, max: (1n << 32n) - 1n }), { nil: undefined }),
      oif: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      table: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      onlink: fc.boolean(),
    });
    check(
      fc.property(route, (r) => {
        const bits = r.family === 4 ? 32 : 128;
        const dst = IPNetwork.of(IPAddress.of(r.family, r.ip & ((1n << BigInt(bits)) - 1n)), r.len % (bits + 1));
        const gw = r.gw === undefined ? undefined : IPAddress.of(r.family, r.gw);
        const w = new AttrWriter();
        const at = w.fixed(12);
        w.setU8(at, r.family === 4 ? C.AF_INET : C.AF_INET6).setU8(at + 1, dst.prefixLength).setU8(at + 4, r.table < 256 ? r.table : 0);
        w.setU32(at + 8, r.onlink ? C.RTNH_F_ONLINK : 0);
        if (dst.prefixLength > 0) w.ip(C.RTA_DST, dst.ip);
        w.u32(C.RTA_TABLE, r.table);
        if (gw) w.ip(C.RTA_GATEWAY, gw);
        w.u32(C.RTA_OIF, r.oif);
        const got = parseRoute({ type: C.RTM_NEWROUTE, flags: 0, seq: 1, pid: 0, payload: w.toBuffer() });
        assert.ok(got);
        assert.equal(got.dst.toString(), dst.toString());
        assert.equal(got.gateway?.toString(), gw?.toString());
        assert.equal(got.linkIndex, r.oif);
        assert.equal(got.table, r.table);
        assert.equal(Boolean(got.onlink), r.onlink);
      }),
    );
  });

  it('a WireGuard set request read back as a device dump gives the same peers (the two share one layout)', () => {
    const peer = fc.record({
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ips: fc.array(fc.tuple(fc.ipV4(), fc.nat({ max: 32 })), { maxLength: 40 }),
      endpoint: fc.option(fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65535 })), { nil: undefined }),
      keepalive: fc.nat({ max: 65535 }),
    });
    check(
      fc.property(fc.uniqueArray(peer, { maxLength: 6, selector: (p) => Buffer.from(p.key).toString('hex') }), fc.integer({ min: 1, max: 65535 }), (peers, port) => {
        const want = peers
          .filter((p) => Buffer.from(p.key).some((b) => b !== 0))
          .map((p) => ({
            publicKey: Buffer.from(p.key),
            endpoint: p.endpoint && { ip: IPAddress.parse(p.endpoint[0]), port: p.endpoint[1] },
            persistentKeepalive: p.keepalive,
            replaceAllowedIps: true,
            allowedIps: p.ips.map(([ip, len]) => IPNetwork.of(IPAddress.parse(ip), len)),
          }));
        const msgs = encodeSetDevice('flannel-wg', { listenPort: port, peers: want }, 2048).map((payload) => ({ type: 0x20, flags: 0, seq: 0, pid: 0, payload }));
        const dump = parseDeviceDump(msgs);
        assert.equal(dump.listenPort, port);
        assert.deepEqual(
          dump.peers.map((p) => [p.publicKey.toString('hex'), p.endpoint?.ip.toString(), p.endpoint?.port, p.persistentKeepalive, p.allowedIps.map(String)]),
          want.map((p) => [p.publicKey.toString('hex'), p.endpoint?.ip.toString(), p.endpoint?.port, p.persistentKeepalive, p.allowedIps.map(String)]),
        );
      }),
      0.5,
    );
  });

  it('regression: short headers and an impossible prefix length are MalformedInputErrors', () => {
    const short = { type: C.RTM_NEWROUTE, flags: 0, seq: 0, pid: 0, payload: Buffer.alloc(3) };
    assert.throws(() => toKernelEvent(short), (e: unknown) => e instanceof MalformedInputError && /netlink route message: header=3: 3 bytes, shorter than its 12-byte header/.test(e.message));
    assert.throws(() => parseLink({ ...short, type: C.RTM_NEWLINK }), MalformedInputError);
    assert.throws(() => parseAddress({ ...short, type: C.RTM_NEWADDR }), MalformedInputError);
    assert.throws(() => parseNeighborMessage({ ...short, type: C.RTM_NEWNEIGH }), MalformedInputError);
    const w = new AttrWriter();
    const at = w.fixed(12);
    w.setU8(at, C.AF_INET).setU8(at + 1, 200);
    assert.throws(() => parseRoute({ ...short, payload: w.toBuffer() }), (e: unknown) => e instanceof MalformedInputError && /rtm_dst_len=200/.test(e.message));
  });
});
