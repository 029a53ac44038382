import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { envVarName } from '../../../src/cli/flag-parser.js';
import { FLANNELD_FLAGS } from '../../../src/cli/flanneld-flags.js';
import { parseFlanneldOptions, type FlanneldOptions } from '../../../src/cli/flanneld-options.js';
import { GoSyntaxError, formatGoDuration, parseGoBool, parseGoDuration, parseGoInt } from '../../../src/cli/go-values.js';
import { UsageError } from '../../../src/errors.js';
import { check, expectTypedOrValue } from './fuzz-settings.js';

const NAMES = FLANNELD_FLAGS.map((f) => f.name);

/** One flag occurrence in any of Go's spellings. */
const flagToken = fc.tuple(fc.constantFrom(...NAMES, 'help', 'h', 'nope', ''), fc.constantFrom('-', '--', '---'), fc.boolean(), fc.oneof(fc.string(), fc.constantFrom('0', '1', 'true', 'false', '-1', '99999999999999999999', '0x10', '1h', '5s', '10.0.0.1', '::1', '[', '(')));
const argv = fc.array(
  fc.oneof(
    flagToken.map(([n, dash, eq, v]) => (eq ? [`${dash}${n}=${v}`] : [`${dash}${n}`, v])),
    fc.string().map((s) => [s]),
  ),
  { maxLength: 6 },
).map((parts) => parts.flat());
const env = fc.dictionary(fc.oneof(fc.constantFrom(...NAMES.map((n) => envVarName('FLANNELD', n))), fc.string()), fc.oneof(fc.string(), fc.constantFrom('1', 'x', '0x', '1e3', '-5')), { maxKeys: 5 });

/** What a user gives: each chosen flag with a valid value, on the command line or in the environment. */
const validChoice = fc.record(
  {
    'etcd-endpoints': fc.array(fc.webUrl().filter((u) => !u.includes(',')), { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
    'etcd-prefix': fc.string({ minLength: 1 }),
    iface: fc.string({ minLength: 1 }),
    'public-ip': fc.ipV4(),
    'public-ipv6': fc.ipV6(),
    'subnet-lease-renew-margin': fc.integer({ min: 1, max: 1439 }).map(String),
    'subnet-lease-ttl': fc.integer({ min: 5, max: 576 * 3600 }).map((s) => formatGoDuration(s * 1000)),
    'ip-masq': fc.constantFrom('true', 'false', '1', '0', 'T', 'F'),
    'iptables-resync': fc.integer({ min: 1, max: 2_147_483 }).map(String),
    'healthz-port': fc.integer({ min: 0, max: 65535 }).map((n) => (n % 2 ? String(n) : `0x${n.toString(16)}`)),
    v: fc.integer({ min: 0, max: 10 }).map(String),
  },
  { requiredKeys: [] },
);

/** The option a flag's text should give. */
function expected(name: string, text: string): unknown {
  switch (name) {
    case 'ip-masq':
      return parseGoBool(text);
    case 'subnet-lease-renew-margin':
    case 'iptables-resync':
    case 'healthz-port':
    case 'v':
      return parseGoInt(text);
    case 'subnet-lease-ttl':
      return parseGoDuration(text);
    case 'iface':
      return [text];
    case 'etcd-endpoints':
      return text.split(',');
    default:
      return text;
  }
}

const FIELD: Record<string, keyof FlanneldOptions> = {
  'etcd-endpoints': 'etcdEndpoints',
  'etcd-prefix': 'etcdPrefix',
  iface: 'ifaces',
  'public-ip': 'publicIp',
  'public-ipv6': 'publicIpv6',
  'subnet-lease-renew-margin': 'subnetLeaseRenewMarginMin',
  'subnet-lease-ttl': 'subnetLeaseTtlMs',
  'ip-masq': 'ipMasq',
  'iptables-resync': 'iptablesResyncSec',
  'healthz-port': 'healthzPort',
  v: 'verbosity',
};

describe('fuzz: flanneld flags and FLANNELD_* values', () => {
  it('any argv and environment: options, help, version, or a UsageError naming the flag or variable', () => {
    check(
      fc.property(argv, env, (args, vars) => {
        const r = expectTypedOrValue(() => parseFlanneldOptions(args, vars), { typed: UsageError });
        if (r instanceof UsageError) {
          assert.ok(r.flag !== undefined);
          const named = [r.flag, JSON.stringify(r.flag), envVarName('FLANNELD', r.flag)].some((n) => r.message.includes(n));
          assert.ok(named || /bad flag syntax/.test(r.message), `${r.message} names ${r.flag}`);
        }
      }),
    );
  });

  it('valid values round-trip, from argv in every spelling and from FLANNELD_*', () => {
    check(
      fc.property(validChoice, fc.array(fc.constantFrom('-', '--'), { minLength: 16, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), (choice, dashes, useEq, fromEnv) => {
        const args: string[] = [];
        const vars: Record<string, string> = {};
        Object.entries(choice).forEach(([name, text], i) => {
          if (fromEnv[i] && text !== '') vars[envVarName('FLANNELD', name)] = text;
          else if (useEq[i] || name === 'ip-masq') args.push(`${dashes[i]}${name}=${text}`);
          else args.push(`${dashes[i]}${name}`, text);
        });
        const r = parseFlanneldOptions(args, vars);
        assert.ok(!('help' in r) && !('version' in r));
        for (const [name, text] of Object.entries(choice)) {
          const got: unknown = r[FIELD[name] as keyof FlanneldOptions];
          assert.deepEqual(got, expected(name, text), `${name}=${text}`);
        }
      }),
    );
  });

  it('regression: durations beyond 2^53 ns (104 days) format and parse exactly', () => {
    assert.equal(formatGoDuration(893353197549), '248153h39m57.549s');
    assert.equal(parseGoDuration('248153h39m57.549s'), 893353197549);
  });

  it("Go's values: durations, integers and booleans round-trip; any other text is a GoSyntaxError", () => {
    check(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 0, max: 999 }), (ms, us) => {
        const total = ms + us / 1000;
        const text = formatGoDuration(total);
        assert.ok(Math.abs(parseGoDuration(text) - total) < 1e-6, `${total} -> ${text} -> ${parseGoDuration(text)}`);
        assert.equal(formatGoDuration(parseGoDuration(text)), text);
        if (us === 0) assert.equal(parseGoDuration(text), ms);
      }),
    );
    check(
      fc.property(fc.maxSafeInteger(), fc.constantFrom(10, 16, 8, 2), (n, radix) => {
        const prefix = { 10: '', 16: '0x', 8: '0o', 2: '0b' }[radix];
        const text = `${n < 0 ? '-' : ''}${prefix}${Math.abs(n).toString(radix)}`;
        assert.equal(parseGoInt(text), n, text);
      }),
    );
    check(
      fc.property(fc.string(), (text) => {
        for (const parse of [parseGoInt, parseGoDuration, parseGoBool] as ((t: string) => unknown)[]) {
          expectTypedOrValue(() => parse(text), { typed: GoSyntaxError });
        }
      }),
    );
  });
});
