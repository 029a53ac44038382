/**
 * Regexes the CNI plugin's ADD and DEL no longer run (each costs its compilation per run).
 * The plugin reads subnet.env's prefixes with IPNetwork.parse, whose "a.b.c.d/len" fast path
 * reads characters instead of running a regex (no regex to compile per ADD). It must take and
 * refuse exactly what the regex it replaced took (DOTTED_QUAD, '/', 1-3 digits, len <= 32), and
 * masks computed on demand must be the ones a full table held.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DOTTED_QUAD, IPAddress, quadValue } from '../../../src/ip/ip-address.js';
import { IPNetwork, maskOf } from '../../../src/ip/ip-network.js';
import { CONTAINER_ID_PATTERN, isContainerIdSyntax } from '../../../src/cni/cni-spec.js';

const V4_PREFIX_RE = new RegExp(`^${DOTTED_QUAD}/(\\d{1,3})$`);

/** What parse() answered with the regex fast path: the network text, or undefined (the general path decided). */
function viaRegex(text: string): string | undefined {
  const m = V4_PREFIX_RE.exec(text);
  if (!m || Number(m[5]) > 32) return undefined;
  return IPNetwork.of(IPAddress.of(4, BigInt(quadValue(m))), Number(m[5])).toString();
}

/** What parse()'s general path answers (trimmed, split at '/'), as outcome() words it. */
function viaGeneralPath(text: string): string {
  const s = text.trim();
  const slash = s.indexOf('/');
  const ip = slash < 0 ? undefined : IPAddress.tryParse(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText) || Number(lenText) > ip.bits) return 'error';
  return IPNetwork.of(ip, Number(lenText)).toString();
}

const outcome = (text: string): string => {
  try {
    return IPNetwork.parse(text).toString();
  } catch (err) {
    assert.ok(err instanceof Error);
    return 'error';
  }
};

const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '09', '010', '255', '256', '1000', ''));
const len = fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('024', '0032', '', '1a', '999', '3 ', '7\n', ' 8'));
const prefixLike = fc.tuple(octet, octet, octet, octet, len).map(([a, b, c, d, l]) => `${a}.${b}.${c}.${d}/${l}`);
const noise = fc.string({ unit: fc.constantFrom(...'0123456789./ :a\n%'), maxLength: 24 });

describe('IPNetwork.parse IPv4 prefix fast path', () => {
  it('answers as the regex fast path did, for prefixes and near misses', () => {
    fc.assert(
      fc.property(fc.oneof(prefixLike, noise), (text) => {
        const expected = viaRegex(text);
        if (expected !== undefined) assert.equal(outcome(text), expected, JSON.stringify(text));
        else assert.equal(outcome(text), viaGeneralPath(text), JSON.stringify(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps strict parsing of host bits', () => {
    assert.equal(IPNetwork.parse('10.244.0.0/16', { strict: true }).toString(), '10.244.0.0/16');
    assert.throws(() => IPNetwork.parse('10.244.7.1/24', { strict: true }), /host bits set/);
    assert.equal(IPNetwork.parse('10.244.7.1/24').toString(), '10.244.7.0/24');
  });

  it('computes each mask as the full table did', () => {
    for (const [family, bits] of [
      [4, 32],
      [6, 128],
    ] as const) {
      for (let l = bits; l >= 0; l--) {
        const want = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - l)) - 1n);
        assert.equal(maskOf(family, l), want);
        assert.equal(maskOf(family, l), want, 'the remembered mask');
      }
    }
    assert.throws(() => maskOf(4, 1.5), RangeError);
  });
});

describe('container ID syntax', () => {
  it('is CONTAINER_ID_PATTERN, read character by character', () => {
    const unit = fc.constantFrom(...'aZ09_.-/: \n%\u00e9\u0660'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 12 }), (id) => assert.equal(isContainerIdSyntax(id), CONTAINER_ID_PATTERN.test(id), JSON.stringify(id))),
      { numRuns: 3000 },
    );
    for (const id of ['', 'a', '_a', '.a', '-a', 'a_.-b', '..', 'a/b', 'a\n']) assert.equal(isContainerIdSyntax(id), CONTAINER_ID_PATTERN.test(id), JSON.stringify(id));
  });
});
