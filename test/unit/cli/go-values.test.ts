import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GoSyntaxError,
  formatGoDuration,
  parseGoBool,
  parseGoDuration,
  parseGoDurationNs,
  parseGoInt,
} from '../../../src/cli/go-values.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GoSyntaxError);
    return err.reason;
  }
  assert.fail('expected a GoSyntaxError');
}

describe('parseGoBool (strconv.ParseBool)', () => {
  it('accepts every spelling Go accepts', () => {
    for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(parseGoBool(t), true, t);
    for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(parseGoBool(f), false, f);
  });
  it('rejects anything else', () => {
    for (const bad of ['', 'yes', 'no', 'tRUE', 'on', ' true', '2']) assert.equal(reasonOf(() => parseGoBool(bad)), 'parse error', bad);
  });
});

describe('parseGoInt (strconv.ParseInt base 0)', () => {
  it('parses decimal with sign', () => {
    assert.equal(parseGoInt('0'), 0);
    assert.equal(parseGoInt('60'), 60);
    assert.equal(parseGoInt('+7'), 7);
    assert.equal(parseGoInt('-12'), -12);
    assert.equal(parseGoInt('1_000'), 1000);
  });
  it('parses base prefixes and leading-zero octal', () => {
    assert.equal(parseGoInt('0x1F'), 31);
    assert.equal(parseGoInt('0X_ff'), 255);
    assert.equal(parseGoInt('0b101'), 5);
    assert.equal(parseGoInt('0o17'), 15);
    assert.equal(parseGoInt('017'), 15);
    assert.equal(parseGoInt('0_17'), 15);
    assert.equal(parseGoInt('-0x10'), -16);
  });
  it('rejects malformed text', () => {
    for (const bad of ['', 'abc', '1.5', '08', '0x', '1__0', '_1', '1_', '12a', ' 1', '1 ', '--1', '+', '0b2']) {
      assert.equal(reasonOf(() => parseGoInt(bad)), 'parse error', bad);
    }
  });
  it('reports values out of range', () => {
    assert.equal(reasonOf(() => parseGoInt('9223372036854775808')), 'value out of range');
    assert.equal(reasonOf(() => parseGoInt('9007199254740993')), 'value out of range');
    assert.equal(parseGoInt('9007199254740991'), Number.MAX_SAFE_INTEGER);
  });
});

describe('parseGoDuration (time.ParseDuration)', () => {
  it('parses single and compound terms', () => {
    assert.equal(parseGoDuration('30s'), 30_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('24h'), 86_400_000);
    assert.equal(parseGoDuration('2h45m10s'), 9_910_000);
    assert.equal(parseGoDuration('1m1m'), 120_000);
  });
  it('parses fractions, signs, zero and small units', () => {
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('.5s'), 500);
    assert.equal(parseGoDuration('1.s'), 1000);
    assert.equal(parseGoDuration('-1.5s'), -1500);
    assert.equal(parseGoDuration('+2s'), 2000);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-0'), 0);
    assert.equal(parseGoDurationNs('10ns'), 10n);
    assert.equal(parseGoDurationNs('3us'), 3000n);
    assert.equal(parseGoDurationNs('3µs'), 3000n);
    assert.equal(parseGoDurationNs('3μs'), 3000n);
    assert.equal(parseGoDurationNs('1.0000000001s'), 1_000_000_000n);
  });
  it('rejects malformed text', () => {
    for (const bad of ['', '1', '10', 's', '.s', '1d', '1x', '1h 30m', ' 1s', '-', '+', '1.2.3s', 'abc', '1hh']) {
      assert.equal(reasonOf(() => parseGoDuration(bad)), 'parse error', bad);
    }
  });
  it('rejects overflow past int64 nanoseconds', () => {
    assert.equal(parseGoDurationNs('9223372036854775807ns'), 9223372036854775807n);
    assert.equal(parseGoDurationNs('-9223372036854775808ns'), -9223372036854775808n);
    assert.equal(reasonOf(() => parseGoDuration('9223372036854775808ns')), 'parse error');
    assert.equal(reasonOf(() => parseGoDuration('2562048h')), 'parse error');
  });
});

describe('formatGoDuration (time.Duration.String)', () => {
  it('matches Go output', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [86_400_000, '24h0m0s'],
      [90_000, '1m30s'],
      [5_000, '5s'],
      [1_500, '1.5s'],
      [500, '500ms'],
      [1.5, '1.5ms'],
      [0.002, '2µs'],
      [0.000001, '1ns'],
      [-61_000, '-1m1s'],
      [3_600_000 + 500, '1h0m0.5s'],
    ];
    for (const [ms, text] of cases) assert.equal(formatGoDuration(ms), text, text);
  });
  it('round-trips through parseGoDuration', () => {
    for (const text of ['24h0m0s', '1m30s', '1.5s', '500ms', '576h0m0s']) assert.equal(formatGoDuration(parseGoDuration(text)), text);
  });
});
