import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressParseError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork, maskOf } from '../../../src/ip/ip-network.js';

const net = (s: string) => IPNetwork.parse(s);
const ip = (s: string) => IPAddress.parse(s);

describe('IPNetwork.parse', () => {
  it('parses IPv4 and IPv6 prefixes', () => {
    const n = net('10.244.0.0/16');
    assert.equal(n.family, 4);
    assert.equal(n.prefixLength, 16);
    assert.equal(n.ip.toString(), '10.244.0.0');
    assert.equal(n.toString(), '10.244.0.0/16');
    const m = net('FC00:0:0:3::/64');
    assert.equal(m.family, 6);
    assert.equal(m.toString(), 'fc00:0:0:3::/64');
    assert.equal(JSON.stringify([m]), '["fc00:0:0:3::/64"]');
  });

  it('accepts the extreme lengths', () => {
    assert.equal(net('0.0.0.0/0').size, 1n << 32n);
    assert.equal(net('10.1.2.3/32').size, 1n);
    assert.equal(net('::/0').size, 1n << 128n);
    assert.equal(net('fc00::1/128').size, 1n);
  });

  const bad: Array<[string, string]> = [
    ['10.0.0.0/33', 'too long'],
    ['fc00::/129', 'too long'],
    ['10.0.0.0', 'missing prefix'],
    ['fc00::', 'missing prefix'],
    ['10.0.0.0/', 'empty prefix'],
    ['10.0.0.0/-1', 'negative'],
    ['10.0.0.0/1e1', 'not decimal'],
    ['10.0.0.0/8/8', 'two slashes'],
    ['10.0.0.0/ 8', 'space'],
    ['/8', 'no address'],
    ['1.2.3/8', 'bad address'],
    ['10.0.0.256/8', 'bad address'],
    ['::1::/64', 'bad address'],
    ['', 'empty'],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text)} (${why}) naming the whole input`, () => {
      assert.throws(
        () => IPNetwork.parse(text),
        (err: unknown) => err instanceof AddressParseError && err.input === text && err.message.includes(JSON.stringify(text)),
      );
    });
  }

  it('masks host bits by default and refuses them in strict mode', () => {
    assert.equal(net('10.244.3.7/16').toString(), '10.244.0.0/16');
    assert.equal(net('fc00::3:1/64').toString(), 'fc00::/64');
    assert.throws(
      () => IPNetwork.parse('10.244.3.7/16', { strict: true }),
      (err: unknown) => err instanceof AddressParseError && /10\.244\.0\.0/.test(err.message),
    );
    assert.throws(() => IPNetwork.parse('fc00::1/64', { strict: true }), AddressParseError);
    assert.equal(IPNetwork.parse('10.244.0.0/16', { strict: true }).toString(), '10.244.0.0/16');
    assert.equal(IPNetwork.parse('fc00::/64', { strict: true }).toString(), 'fc00::/64');
  });

  it('of() masks and checks the length', () => {
    assert.equal(IPNetwork.of(ip('10.1.2.3'), 24).toString(), '10.1.2.0/24');
    assert.throws(() => IPNetwork.of(ip('10.1.2.3'), 33), RangeError);
    assert.throws(() => IPNetwork.of(ip('10.1.2.3'), -1), RangeError);
    assert.throws(() => IPNetwork.of(ip('10.1.2.3'), 1.5), RangeError);
    assert.equal(IPNetwork.of(ip('fc00::1'), 128).toString(), 'fc00::1/128');
  });
});

describe('IPNetwork arithmetic', () => {
  it('size, last and firstHost', () => {
    const n = net('10.244.23.0/24');
    assert.equal(n.size, 256n);
    assert.equal(n.last.toString(), '10.244.23.255');
    assert.equal(n.firstHost.toString(), '10.244.23.1');
    const m = net('fc00:0:0:3::/64');
    assert.equal(m.size, 1n << 64n);
    assert.equal(m.last.toString(), 'fc00::3:ffff:ffff:ffff:ffff');
    assert.equal(m.firstHost.toString(), 'fc00:0:0:3::1');
    assert.equal(net('255.255.255.0/24').last.toString(), '255.255.255.255');
  });

  it('contains is exact at the edges and family-aware', () => {
    const n = net('10.244.0.0/16');
    assert.ok(n.contains(ip('10.244.0.0')));
    assert.ok(n.contains(ip('10.244.255.255')));
    assert.ok(!n.contains(ip('10.243.255.255')));
    assert.ok(!n.contains(ip('10.245.0.0')));
    assert.ok(!n.contains(IPAddress.of(6, n.ip.value)), 'an IPv6 address with the same bits is not inside');
    assert.ok(net('0.0.0.0/0').contains(ip('255.255.255.255')));
    assert.ok(!net('0.0.0.0/0').contains(ip('::')));
    assert.ok(net('fc00::/7').contains(ip('fdff::1')));
    assert.ok(!net('fc00::/7').contains(ip('fe00::1')));
  });

  it('covers and overlaps', () => {
    const big = net('10.244.0.0/16');
    const small = net('10.244.3.0/24');
    const other = net('10.245.0.0/24');
    assert.ok(big.covers(small));
    assert.ok(!small.covers(big));
    assert.ok(big.covers(big));
    assert.ok(!big.covers(other));
    assert.ok(big.overlaps(small) && small.overlaps(big));
    assert.ok(!big.overlaps(other) && !other.overlaps(big));
    assert.ok(!net('10.244.0.0/24').overlaps(net('10.244.1.0/24')));
    assert.ok(!net('::/0').overlaps(net('0.0.0.0/0')), 'families never overlap');
    assert.ok(net('fc00::/48').covers(net('fc00:0:0:ffff::/64')));
    assert.ok(!net('fc00::/48').covers(net('fc00:0:1::/64')));
  });

  it('next steps by the prefix size and stops at the end of the space', () => {
    assert.equal(net('10.244.0.0/24').next().toString(), '10.244.1.0/24');
    assert.equal(net('10.244.255.0/24').next().toString(), '10.245.0.0/24');
    assert.equal(net('10.0.0.0/30').next().toString(), '10.0.0.4/30');
    assert.equal(net('fc00:0:0:ffff::/64').next().toString(), 'fc00:0:1::/64');
    assert.throws(() => net('255.255.255.0/24').next(), RangeError);
  });

  it('equals compares address and length', () => {
    assert.ok(net('10.0.0.0/8').equals(net('10.1.0.0/8')));
    assert.ok(!net('10.0.0.0/8').equals(net('10.0.0.0/9')));
    assert.ok(!net('10.0.0.0/8').equals(undefined));
  });

  it('parses the bare IPv4 form and every other form alike (fast path and general path agree)', () => {
    const cases: Array<[string, string]> = [
      ['10.244.3.0/24', '10.244.3.0/24'],
      ['10.244.3.7/24', '10.244.3.0/24'],
      [' 10.244.3.0/24 ', '10.244.3.0/24'],
      ['10.244.3.0/024', '10.244.3.0/24'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['255.255.255.255/32', '255.255.255.255/32'],
    ];
    for (const [text, want] of cases) {
      assert.equal(net(text).toString(), want, text);
    }
    for (const bad of ['10.244.3.0/33', '10.244.3.0/0024', '010.244.3.0/24', '10.244.3.0/', '10.244.3/24', '10.244.3.0/2a', '10.244.3.0-24']) {
      assert.throws(() => net(bad), AddressParseError, bad);
    }
    assert.throws(() => IPNetwork.parse('10.244.3.7/24', { strict: true }), AddressParseError);
    assert.equal(IPNetwork.parse('10.244.3.0/24', { strict: true }).toString(), '10.244.3.0/24');
  });

  it('of() keeps an address that is already the network address', () => {
    const a = IPAddress.parse('10.244.3.0');
    assert.equal(IPNetwork.of(a, 24).ip, a);
    assert.equal(IPNetwork.of(a, 23).ip.toString(), '10.244.2.0');
  });

  it('maskOf', () => {
    assert.equal(maskOf(4, 0), 0n);
    assert.equal(maskOf(4, 24), 0xffffff00n);
    assert.equal(maskOf(4, 32), 0xffffffffn);
    assert.equal(maskOf(6, 64), ((1n << 64n) - 1n) << 64n);
    assert.equal(maskOf(6, 128), (1n << 128n) - 1n);
  });
});
