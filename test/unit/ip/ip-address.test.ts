import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressParseError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';

const v4 = (s: string) => IPAddress.parse(s);

describe('IPAddress IPv4', () => {
  it('parses dotted quads into family and value', () => {
    const a = v4('10.244.3.1');
    assert.equal(a.family, 4);
    assert.equal(a.bits, 32);
    assert.equal(a.value, (10n << 24n) | (244n << 16n) | (3n << 8n) | 1n);
    assert.equal(v4('0.0.0.0').value, 0n);
    assert.equal(v4('255.255.255.255').value, 0xffffffffn);
  });

  for (const bad of ['1.2.3', '10.0.0.256', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', '1.2.3.4/8', 'a.b.c.d', '', '1..2.3', '1.2.3.4.']) {
    it(`rejects ${JSON.stringify(bad)} with AddressParseError naming the input`, () => {
      assert.throws(
        () => IPAddress.parse(bad),
        (err: unknown) => err instanceof AddressParseError && err.code === 'ERR_ADDRESS' && err.input === bad && err.message.includes(JSON.stringify(bad)),
      );
      assert.equal(IPAddress.tryParse(bad), undefined);
    });
  }

  it('takes surrounding white space, as before the bare-quad fast path', () => {
    assert.equal(v4(' 10.244.3.1\n').toString(), '10.244.3.1');
    assert.equal(v4('\t255.255.255.255 ').value, 0xffffffffn);
  });

  it('formats and round-trips', () => {
    for (const s of ['0.0.0.0', '10.244.0.0', '192.168.77.11', '255.255.255.255', '1.2.3.4']) {
      assert.equal(v4(s).toString(), s);
      assert.equal(JSON.stringify({ a: v4(s) }), `{"a":"${s}"}`);
    }
  });

  it('classifies loopback, link-local and unspecified', () => {
    assert.ok(v4('127.0.0.1').isLoopback());
    assert.ok(v4('127.255.0.9').isLoopback());
    assert.ok(!v4('128.0.0.1').isLoopback());
    assert.ok(v4('169.254.1.1').isLinkLocal());
    assert.ok(!v4('169.253.1.1').isLinkLocal());
    assert.ok(v4('0.0.0.0').isUnspecified());
    assert.ok(!v4('0.0.0.1').isUnspecified());
  });
});

describe('IPAddress IPv6', () => {
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['FC00::1', 'fc00::1'],
    ['fc00:0:0:3::', 'fc00:0:0:3::'],
    ['fc00:0000:0000:0003:0000:0000:0000:0000', 'fc00:0:0:3::'],
    ['2001:0db8::0001', '2001:db8::1'],
    // RFC 5952 4.2.3: the longest run is compressed; on a tie, the first one.
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    // RFC 5952 4.2.2: a single zero group is not compressed.
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1::', '1::'],
    ['fe80::a:b', 'fe80::a:b'],
    // Embedded dotted quad.
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::1.2.3.4', '::102:304'],
    // RFC 5952 section 5: IPv4-mapped addresses keep their dotted quad.
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::FFFF:102:304', '::ffff:1.2.3.4'],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${want}, and back`, () => {
      const a = IPAddress.parse(input);
      assert.equal(a.family, 6);
      assert.equal(a.bits, 128);
      assert.equal(a.toString(), want);
      assert.ok(IPAddress.parse(want).equals(a));
    });
  }

  it('puts embedded dotted quads into the low 32 bits', () => {
    assert.equal(IPAddress.parse('::ffff:1.2.3.4').value, 0xffff01020304n);
    assert.equal(IPAddress.parse('64:ff9b::10.0.0.1').value, (0x64n << 112n) | (0xff9bn << 96n) | 0x0a000001n);
  });

  for (const bad of ['::1::', ':::', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1::2::3', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'fc00::/64', ':1', '1:']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => IPAddress.parse(bad), AddressParseError);
    });
  }

  it('random values round-trip through text', () => {
    let seed = 12345n;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 128n) - 1n);
      // Zero out random groups so that "::" compression is exercised.
      let v = seed;
      for (let g = 0; g < 8; g++) if ((seed >> BigInt(g * 3)) & 1n) v &= ~(0xffffn << BigInt(g * 16));
      const a = IPAddress.of(6, v);
      assert.equal(IPAddress.parse(a.toString()).value, v, a.toString());
      assert.equal(a.toString(), a.toString().toLowerCase());
      assert.ok(!/(^|:)0[0-9a-f]/.test(a.toString()), `no leading zeros: ${a.toString()}`);
    }
  });

  it('classifies loopback, link-local and unspecified', () => {
    assert.ok(IPAddress.parse('::1').isLoopback());
    assert.ok(!IPAddress.parse('::2').isLoopback());
    assert.ok(IPAddress.parse('fe80::1').isLinkLocal());
    assert.ok(IPAddress.parse('febf::1').isLinkLocal());
    assert.ok(!IPAddress.parse('fec0::1').isLinkLocal());
    assert.ok(!IPAddress.parse('fc00::1').isLinkLocal());
    assert.ok(IPAddress.parse('::').isUnspecified());
  });
});

describe('IPAddress arithmetic and comparison', () => {
  it('of() checks the range per family', () => {
    assert.equal(IPAddress.of(4, 0xffffffffn).toString(), '255.255.255.255');
    assert.throws(() => IPAddress.of(4, 1n << 32n), RangeError);
    assert.throws(() => IPAddress.of(4, -1n), RangeError);
    assert.equal(IPAddress.of(6, (1n << 128n) - 1n).toString(), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    assert.throws(() => IPAddress.of(6, 1n << 128n), RangeError);
  });

  it('add() crosses octet boundaries and refuses to wrap', () => {
    assert.equal(v4('10.0.0.255').add(1n).toString(), '10.0.1.0');
    assert.equal(v4('10.0.1.0').add(-1n).toString(), '10.0.0.255');
    assert.throws(() => v4('255.255.255.255').add(1n), RangeError);
    assert.throws(() => v4('0.0.0.0').add(-1n), RangeError);
    assert.equal(IPAddress.parse('fc00::ffff').add(1n).toString(), 'fc00::1:0');
  });

  it('equals and compare are family-aware', () => {
    assert.ok(v4('10.0.0.1').equals(v4('10.0.0.1')));
    assert.ok(!v4('10.0.0.1').equals(undefined));
    assert.ok(!IPAddress.of(4, 1n).equals(IPAddress.of(6, 1n)));
    assert.equal(v4('10.0.0.1').compare(v4('10.0.0.2')), -1);
    assert.equal(v4('10.0.0.2').compare(v4('10.0.0.1')), 1);
    assert.equal(v4('10.0.0.2').compare(v4('10.0.0.2')), 0);
    assert.ok(v4('255.255.255.255').compare(IPAddress.parse('::')) < 0, 'IPv4 sorts before IPv6');
  });
});
