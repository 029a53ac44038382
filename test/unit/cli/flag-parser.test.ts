import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/errors.js';
import {
  applyEnvironment,
  envVarName,
  flagBool,
  flagList,
  flagNumber,
  flagString,
  formatUsage,
  parseFlags,
  type FlagSpec,
} from '../../../src/cli/flag-parser.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'ip-masq', kind: 'bool', default: false, help: 'masquerade' },
  { name: 'forward', kind: 'bool', default: true, help: 'forward rules' },
  { name: 'prefix', kind: 'string', default: '/coreos.com/network', help: 'etcd prefix' },
  { name: 'port', kind: 'int', default: 0, help: 'the port (0 to disable)' },
  { name: 'margin', kind: 'int', default: 60, help: 'renew margin' },
  { name: 'ttl', kind: 'duration', default: 86_400_000, help: 'lease lifetime' },
  { name: 'iface', kind: 'string-list', default: [], help: 'interface, repeatable' },
  { name: 'v', kind: 'int', default: 0, help: 'verbosity' },
  { name: 'log_backtrace_at', kind: 'string', default: '', help: 'trace at `file:N`' },
];

const parse = (...argv: string[]) => parseFlags(SPECS, argv);

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_USAGE');
    return err;
  }
  assert.fail('expected a UsageError');
}

describe('parseFlags: syntax forms', () => {
  it('gives defaults when nothing is passed', () => {
    const p = parse();
    assert.equal(flagBool(p, 'ip-masq'), false);
    assert.equal(flagBool(p, 'forward'), true);
    assert.equal(flagString(p, 'prefix'), '/coreos.com/network');
    assert.equal(flagNumber(p, 'margin'), 60);
    assert.equal(flagNumber(p, 'ttl'), 86_400_000);
    assert.deepEqual(flagList(p, 'iface'), []);
    assert.equal(p.help, false);
    assert.deepEqual(p.args, []);
    assert.equal(p.origins.get('port')?.source, 'default');
  });
  it('accepts one and two dashes, "=value" and a separate value', () => {
    for (const argv of [['-port=8080'], ['--port=8080'], ['-port', '8080'], ['--port', '8080']]) {
      const p = parseFlags(SPECS, argv);
      assert.equal(flagNumber(p, 'port'), 8080, argv.join(' '));
      assert.deepEqual(p.origins.get('port'), { source: 'argv', name: '-port', raw: '8080' });
    }
  });
  it('lets a non-bool flag take the next argument even when it starts with "-"', () => {
    assert.equal(flagString(parse('-prefix', '-weird'), 'prefix'), '-weird');
    assert.equal(flagNumber(parse('-v', '-1'), 'v'), -1);
  });
  it('keeps everything after the first "=" as the value', () => {
    assert.equal(flagString(parse('-prefix=a=b'), 'prefix'), 'a=b');
    assert.equal(flagString(parse('-prefix='), 'prefix'), '');
  });
  it('sets a bool with no value to true and never consumes the next argument', () => {
    const p = parse('-ip-masq', 'false', '-port=1');
    assert.equal(flagBool(p, 'ip-masq'), true);
    assert.deepEqual(p.args, ['false', '-port=1']);
    assert.equal(flagNumber(p, 'port'), 0);
  });
  it('accepts every strconv.ParseBool spelling after "="', () => {
    for (const t of ['true', '1', 't', 'T', 'TRUE', 'True']) assert.equal(flagBool(parse(`-forward=${t}`), 'forward'), true, t);
    for (const f of ['false', '0', 'f', 'F', 'FALSE', 'False']) assert.equal(flagBool(parse(`--forward=${f}`), 'forward'), false, f);
  });
  it('appends repeated list flags in order', () => {
    const p = parse('-iface', 'eth0', '--iface=10.0.0.1', '-iface', 'a,b');
    assert.deepEqual(flagList(p, 'iface'), ['eth0', '10.0.0.1', 'a,b']);
    assert.ok(Object.isFrozen(flagList(p, 'iface')));
  });
  it('lets the last of repeated scalar flags win', () => {
    assert.equal(flagNumber(parse('-port=1', '-port', '2'), 'port'), 2);
  });
  it('parses durations in Go syntax', () => {
    assert.equal(flagNumber(parse('-ttl=30s'), 'ttl'), 30_000);
    assert.equal(flagNumber(parse('-ttl', '1h30m'), 'ttl'), 5_400_000);
    assert.equal(flagNumber(parse('-ttl=500ms'), 'ttl'), 500);
  });
  it('parses ints in Go base-0 syntax', () => {
    assert.equal(flagNumber(parse('-port=0x1f90'), 'port'), 8080);
    assert.equal(flagNumber(parse('-port=+80'), 'port'), 80);
  });
  it('stops at "--" and keeps what follows', () => {
    const p = parse('-ip-masq', '--', '-port=1', 'x');
    assert.equal(flagBool(p, 'ip-masq'), true);
    assert.deepEqual(p.args, ['-port=1', 'x']);
  });
  it('stops at the first non-flag argument and at a lone "-"', () => {
    assert.deepEqual(parse('x', '-ip-masq').args, ['x', '-ip-masq']);
    assert.equal(flagBool(parse('x', '-ip-masq'), 'ip-masq'), false);
    assert.deepEqual(parse('-', '-port=1').args, ['-', '-port=1']);
  });
  it('flags names containing "_" as defined', () => {
    assert.equal(flagString(parse('-log_backtrace_at=main.go:10'), 'log_backtrace_at'), 'main.go:10');
  });
});

describe('parseFlags: help', () => {
  for (const h of ['-h', '-help', '--help', '--h', '-help=false']) {
    it(`${h} requests usage and stops parsing`, () => {
      const p = parse('-port=1', h, '-nonsense');
      assert.equal(p.help, true);
      assert.equal(flagNumber(p, 'port'), 1);
    });
  }
  it('an error before -h still wins', () => {
    usageError(() => parse('-nonsense', '-h'));
  });
});

describe('parseFlags: errors in Go words', () => {
  it('unknown flag', () => {
    const e = usageError(() => parse('--foo=1'));
    assert.equal(e.message, 'flag provided but not defined: -foo');
    assert.equal(e.flag, 'foo');
  });
  it('bad int', () => {
    const e = usageError(() => parse('-port', 'abc'));
    assert.equal(e.message, 'invalid value "abc" for flag -port: parse error');
    assert.equal(e.flag, 'port');
  });
  it('int out of range', () => {
    assert.equal(usageError(() => parse('-port=99999999999999999999')).message, 'invalid value "99999999999999999999" for flag -port: value out of range');
  });
  it('bad bool', () => {
    const e = usageError(() => parse('-ip-masq=yes'));
    assert.equal(e.message, 'invalid boolean value "yes" for -ip-masq: parse error');
    assert.equal(usageError(() => parse('-ip-masq=')).message, 'invalid boolean value "" for -ip-masq: parse error');
  });
  it('bad duration', () => {
    assert.equal(usageError(() => parse('-ttl=10')).message, 'invalid value "10" for flag -ttl: parse error');
    assert.equal(usageError(() => parse('-ttl=1d')).message, 'invalid value "1d" for flag -ttl: parse error');
  });
  it('missing value at the end of argv', () => {
    const e = usageError(() => parse('-ip-masq', '-port'));
    assert.equal(e.message, 'flag needs an argument: -port');
    assert.equal(usageError(() => parse('--iface')).message, 'flag needs an argument: -iface');
  });
  it('bad flag syntax', () => {
    for (const arg of ['---port=1', '-=1', '--=x']) assert.equal(usageError(() => parse(arg)).message, `bad flag syntax: ${arg}`);
  });
});

describe('applyEnvironment (flagutil.SetFlagsFromEnv)', () => {
  it('names variables PREFIX_NAME with "-" and "." as "_"', () => {
    assert.equal(envVarName('FLANNELD', 'subnet-lease-renew-margin'), 'FLANNELD_SUBNET_LEASE_RENEW_MARGIN');
    assert.equal(envVarName('FLANNELD', 'log_backtrace_at'), 'FLANNELD_LOG_BACKTRACE_AT');
    assert.equal(envVarName('X', 'a.b'), 'X_A_B');
  });
  it('fills flags not given on the command line', () => {
    const p = applyEnvironment(SPECS, parse('-port=1'), { X_PORT: '2', X_MARGIN: '30', X_IP_MASQ: 'true', X_TTL: '1h' }, 'X');
    assert.equal(flagNumber(p, 'port'), 1);
    assert.equal(flagNumber(p, 'margin'), 30);
    assert.equal(flagBool(p, 'ip-masq'), true);
    assert.equal(flagNumber(p, 'ttl'), 3_600_000);
    assert.deepEqual(p.origins.get('margin'), { source: 'env', name: 'X_MARGIN', raw: '30' });
  });
  it('ignores empty and unset variables, and skipped flags', () => {
    const p = applyEnvironment(SPECS, parse(), { X_PORT: '', X_PREFIX: undefined, X_V: '3' }, 'X', ['v']);
    assert.equal(flagNumber(p, 'port'), 0);
    assert.equal(flagString(p, 'prefix'), '/coreos.com/network');
    assert.equal(flagNumber(p, 'v'), 0);
  });
  it('gives a list flag one element per variable, commas and all, unless the command line set it', () => {
    assert.deepEqual(flagList(applyEnvironment(SPECS, parse(), { X_IFACE: 'eth0,eth1' }, 'X'), 'iface'), ['eth0,eth1']);
    assert.deepEqual(flagList(applyEnvironment(SPECS, parse('-iface=a'), { X_IFACE: 'b' }, 'X'), 'iface'), ['a']);
  });
  it('names the variable and the value when a value is bad', () => {
    const e = usageError(() => applyEnvironment(SPECS, parse(), { X_PORT: 'abc' }, 'X'));
    assert.equal(e.message, 'invalid value "abc" for X_PORT: parse error');
    assert.equal(e.flag, 'port');
    assert.equal(usageError(() => applyEnvironment(SPECS, parse(), { X_FORWARD: 'no' }, 'X')).message, 'invalid value "no" for X_FORWARD: parse error');
    assert.equal(usageError(() => applyEnvironment(SPECS, parse(), { X_TTL: '5' }, 'X')).message, 'invalid value "5" for X_TTL: parse error');
  });
  it('does not read a bad variable for a flag given on the command line', () => {
    assert.equal(flagNumber(applyEnvironment(SPECS, parse('-port=7'), { X_PORT: 'abc' }, 'X'), 'port'), 7);
  });
});

describe('formatUsage (PrintDefaults layout)', () => {
  it('lists flags sorted, with type, help and non-zero defaults', () => {
    const text = formatUsage('prog', SPECS);
    const expected = [
      'Usage of prog:',
      '  -forward',
      '    \tforward rules (default true)',
      '  -iface value',
      '    \tinterface, repeatable',
      '  -ip-masq',
      '    \tmasquerade',
      '  -log_backtrace_at file:N',
      '    \ttrace at file:N',
      '  -margin int',
      '    \trenew margin (default 60)',
      '  -port int',
      '    \tthe port (0 to disable)',
      '  -prefix string',
      '    \tetcd prefix (default "/coreos.com/network")',
      '  -ttl duration',
      '    \tlease lifetime (default 24h0m0s)',
      '  -v int',
      '    \tverbosity',
      '',
    ].join('\n');
    assert.equal(text, expected);
  });
  it('puts a one-letter bool flag on one line, as Go does', () => {
    assert.equal(formatUsage('p', [{ name: 'x', kind: 'bool', default: false, help: 'ex' }]), 'Usage of p:\n  -x\tex\n');
  });
});

describe('typed accessors', () => {
  it('refuse a wrong kind or an unknown name (programming errors)', () => {
    const p = parse();
    assert.throws(() => flagBool(p, 'port'), TypeError);
    assert.throws(() => flagList(p, 'prefix'), TypeError);
    assert.throws(() => flagString(p, 'nope'), TypeError);
  });
  it('refuse a spec list that defines a flag twice', () => {
    assert.throws(() => parseFlags([SPECS[0]!, SPECS[0]!], []), TypeError);
  });
});
