import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MalformedInputError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { decodeLeaseAttrs, encodeLeaseAttrs, leaseId, leaseKey, parseSubnetKey, sameLeaseKey, subnetKey, type LeaseAttrs } from '../../../src/lease/lease.js';
import { anyJson, check, deepJsonText, expectTypedOrValue, macText, mutatedText } from './fuzz-settings.js';

const v4Net = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, len]) => IPNetwork.of(IPAddress.parse(ip), len));
const v6Net = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, len]) => IPNetwork.of(IPAddress.parse(ip), len));
/** What a subnet key holds: an IPv4 subnet, an IPv6 one, or both (an IPv6-only key has 0.0.0.0-0 in front). */
const keySubnets = fc.oneof(
  fc.record({ subnet: v4Net, ipv6Subnet: fc.constant(undefined) }),
  fc.record({ subnet: v4Net.filter((n) => n.prefixLength > 0), ipv6Subnet: v6Net }),
  fc.record({ subnet: fc.constant(undefined), ipv6Subnet: v6Net }),
);

/** JSON values that our own backends put into BackendData (finite numbers, no integer-like keys reordered). */
const backendData: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.record({ VNI: fc.integer({ min: 0, max: 0xffffff }), VtepMAC: macText }),
  fc.record({ PublicKey: fc.base64String({ minLength: 44, maxLength: 44 }), Port: fc.integer({ min: 1, max: 65535 }) }),
  fc.dictionary(fc.string().filter((k) => !/^\d+$/.test(k)), fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }),
  fc.string({ unit: 'grapheme' }),
);

const validAttrs: fc.Arbitrary<LeaseAttrs> = fc.record({
  publicIP: fc.option(fc.ipV4().filter((s) => s !== '0.0.0.0').map((s) => IPAddress.parse(s)), { nil: undefined }),
  publicIPv6: fc.option(fc.ipV6().map((s) => IPAddress.parse(s)).filter((a) => !a.isUnspecified()), { nil: undefined }),
  backendType: fc.option(fc.oneof(fc.constantFrom('vxlan', 'host-gw', 'wireguard', 'ipip', 'ipsec', 'extension'), fc.string({ minLength: 1, unit: 'grapheme' })), { nil: undefined }),
  backendData,
  backendV6Data: backendData,
});

function decode(text: string): LeaseAttrs | Error {
  return expectTypedOrValue(() => decodeLeaseAttrs(text), { typed: MalformedInputError });
}

describe('fuzz: lease keys and values from the store', () => {
  it('subnetKey → parseSubnetKey round-trips, exact or not; leaseId follows leaseKey', () => {
    check(
      fc.property(keySubnets, keySubnets, (a, b) => {
        const key = subnetKey(a.subnet, a.ipv6Subnet);
        for (const exact of [false, true]) {
          const back = parseSubnetKey(key, { exact });
          assert.ok(back, `${key} does not parse back`);
          assert.equal(subnetKey(back.subnet, back.ipv6Subnet), key);
          assert.ok(sameLeaseKey(back, a));
        }
        assert.equal(leaseId(a) === leaseId(b), leaseKey(a) === leaseKey(b));
      }),
    );
  });

  it('any key text: never throws; an exact parse is the one text subnetKey() makes', () => {
    const keyText = keySubnets.map((s) => subnetKey(s.subnet, s.ipv6Subnet));
    const texts = fc.oneof(mutatedText(keyText), fc.string(), fc.tuple(fc.ipV4(), fc.string({ maxLength: 4 })).map(([ip, len]) => `${ip}-${len}`));
    check(
      fc.property(texts, (text) => {
        const loose = parseSubnetKey(text);
        const exact = parseSubnetKey(text, { exact: true });
        if (exact) assert.equal(subnetKey(exact.subnet, exact.ipv6Subnet), text);
        if (exact) assert.ok(loose && sameLeaseKey(loose, exact));
      }),
    );
  });

  it('keys that alias another subnet key (leading zeros, a prefix before the key) are refused when exact', () => {
    check(
      fc.property(v4Net, fc.constantFrom('0', '00', 'x', '1.', '/junk/'), fc.boolean(), (n, extra, inLength) => {
        const key = subnetKey(n, undefined);
        const alias = inLength ? key.replace(/-(\d+)$/, `-${extra === '0' || extra === '00' ? extra : '0'}$1`) : `${extra}${key}`;
        assert.equal(parseSubnetKey(alias, { exact: true }), undefined, alias);
      }),
    );
  });

  it('LeaseAttrs: encode → decode → encode is byte-identical (Go LeaseAttrs order, omitempty, HTML escapes)', () => {
    check(
      fc.property(validAttrs, (a) => {
        const text = encodeLeaseAttrs(a);
        assert.doesNotMatch(text, /[<>&\u2028\u2029]/, 'Go escapes <, >, &, U+2028, U+2029');
        const back = decode(text);
        assert.ok(!(back instanceof Error), String(back));
        assert.equal(encodeLeaseAttrs(back), text);
        assert.equal(back.publicIP?.toString(), a.publicIP?.toString());
        assert.equal(back.publicIPv6?.toString(), a.publicIPv6?.toString());
        const keys = Object.keys(JSON.parse(text) as object);
        const order = ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data'];
        assert.deepEqual(keys, order.filter((k) => keys.includes(k)));
      }),
    );
  });

  it('any lease value: attributes or a MalformedInputError, never another exception', () => {
    const valueText = validAttrs.map(encodeLeaseAttrs);
    check(fc.property(mutatedText(valueText), (text) => void decode(text)));
    check(fc.property(anyJson, (v) => void decode(JSON.stringify(v) ?? 'null')), 0.5);
    check(fc.property(deepJsonText, (text) => void decode(text)), 0.05);
    check(
      fc.property(fc.dictionary(fc.constantFrom('PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data', '__proto__', 'constructor'), anyJson), (raw) => {
        const a = decode(JSON.stringify(raw));
        if (a instanceof Error) return;
        // Whatever the peer wrote, addresses are of their family and never unspecified.
        if (a.publicIP) assert.ok(a.publicIP.family === 4 && !a.publicIP.isUnspecified());
        if (a.publicIPv6) assert.ok(a.publicIPv6.family === 6 && !a.publicIPv6.isUnspecified());
        assert.ok(a.backendType === undefined || (typeof a.backendType === 'string' && a.backendType !== ''));
        assert.equal(({} as Record<string, unknown>)['PublicIP'], undefined);
      }),
    );
  });

  it('regression: a value that is JSON but not an object is a MalformedInputError naming the value', () => {
    for (const text of ['[]', '"x"', '1', 'null', '{', '']) {
      assert.throws(() => decodeLeaseAttrs(text), (e: unknown) => e instanceof MalformedInputError && e.message.startsWith('lease value: (document)='));
    }
  });
});
