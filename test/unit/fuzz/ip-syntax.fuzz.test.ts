/**
 * ip-syntax.ts answers as node:net's isIPv4/isIPv6 do, for texts built to sit on the edges of
 * the grammar (hextet runs with and without '::', dotted quads in every place, zones) and for
 * arbitrary strings over the characters addresses are made of.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { isIPv4Text, isIPv6Text } from '../../../src/ip/ip-syntax.js';
import { check } from './fuzz-settings.js';

// Mostly well-formed parts, so that both answers come up often.
const octet = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 20 },
  fc.constantFrom('00', '01', '256', '300', '999', '-1', '', '1a', ' 1'),
);
const quad = fc.oneof({ arbitrary: fc.array(octet, { minLength: 4, maxLength: 4 }), weight: 4 }, fc.array(octet, { minLength: 3, maxLength: 5 })).map((xs) => xs.join('.'));
const hextet = fc.oneof(
  { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), weight: 20 },
  fc.constantFrom('', '0', 'ffff', 'FFFF', '12345', 'g', '0x1', ' 1'),
);
const v6ish = fc
  .tuple(
    fc.array(fc.oneof({ arbitrary: hextet, weight: 10 }, quad), { minLength: 0, maxLength: 9 }),
    fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
    fc.option(fc.oneof(quad, fc.constantFrom('1.2.3.4', '255.255.255.255')), { nil: undefined }),
    fc.option(fc.oneof(fc.stringMatching(/^[0-9A-Za-z.:%-]{0,6}$/), fc.constantFrom('eth0', 'en-1.2', 'a:b', '', '%')), { nil: undefined }),
  )
  .map(([groups, gapAt, tailQuad, zone]) => {
    const parts = [...groups];
    if (tailQuad !== undefined) parts.push(tailQuad);
    let text = parts.join(':');
    if (gapAt !== undefined) {
      const cut = Math.min(gapAt, parts.length);
      text = `${parts.slice(0, cut).join(':')}::${parts.slice(cut).join(':')}`;
    }
    return zone === undefined ? text : `${text}%${zone}`;
  });
const noise = fc.stringMatching(/^[0-9a-fA-F.:%gx -]{0,45}$/);

describe('IP address syntax without node:net', () => {
  it('takes the same IPv4 texts as node:net', () =>
    check(fc.property(fc.oneof(quad, noise), (text) => assert.equal(isIPv4Text(text), isIPv4(text), text))));

  it('takes the same IPv6 texts as node:net', () =>
    check(fc.property(fc.oneof(v6ish, noise), (text) => assert.equal(isIPv6Text(text), isIPv6(text), text)), 4));

  it('agrees on the edge cases written out', () => {
    const cases = [
      '::', '::1', '1::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '1:2:3:4:5::1.2.3.4', '::1.2.3.4',
      '::ffff:10.0.0.1', '1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:1', ':::', '1:::2', '1::2::3', ':1::', '::1:',
      'fe80::1%eth0', 'fe80::1%', 'fe80::1%a%b', 'fe80::1%a:b.c-d', 'fe80::1%a_b', '12345::', 'g::', '',
      '1.2.3.4', '01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', ' 1.2.3.4', '1.2.3.4%eth0', '::01.2.3.4',
    ];
    for (const text of cases) {
      assert.equal(isIPv4Text(text), isIPv4(text), `isIPv4 ${text}`);
      assert.equal(isIPv6Text(text), isIPv6(text), `isIPv6 ${text}`);
    }
  });
});
