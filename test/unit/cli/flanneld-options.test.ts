import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/errors.js';
import { flanneldUsage, parseFlanneldOptions, type FlanneldOptions } from '../../../src/cli/flanneld-options.js';
import { FLANNELD_FLAGS } from '../../../src/cli/flanneld-flags.js';

type Env = Record<string, string | undefined>;

function options(argv: string[], env: Env = {}): FlanneldOptions {
  const r = parseFlanneldOptions(argv, env);
  if ('help' in r || 'version' in r) assert.fail(`expected options, got ${JSON.stringify(r)}`);
  return r;
}

function usageError(argv: string[], env: Env = {}): UsageError {
  try {
    parseFlanneldOptions(argv, env);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected a UsageError for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
}

describe('parseFlanneldOptions: defaults (as Go flannel main.go)', () => {
  it('fills every field', () => {
    const o = options([]);
    assert.deepEqual({ ...o }, {
      etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'],
      etcdPrefix: '/coreos.com/network',
      etcdKeyfile: undefined,
      etcdCertfile: undefined,
      etcdCaFile: undefined,
      etcdUsername: undefined,
      etcdPassword: undefined,
      kubeSubnetMgr: false,
      kubeApiUrl: undefined,
      kubeconfigFile: undefined,
      kubeAnnotationPrefix: 'flannel.alpha.coreos.com',
      netConfigPath: '/etc/kube-flannel/net-conf.json',
      setNodeNetworkUnavailable: true,
      useMultiClusterCidr: false,
      persistentMac: false,
      ifaces: [],
      ifaceRegexes: [],
      ifaceCanReach: undefined,
      publicIp: undefined,
      publicIpv6: undefined,
      subnetFile: '/run/flannel/subnet.env',
      subnetLeaseRenewMarginMin: 60,
      subnetLeaseTtlMs: 86_400_000,
      ipMasq: false,
      iptablesResyncSec: 5,
      iptablesForwardRules: true,
      healthzIp: '0.0.0.0',
      healthzPort: 0,
      verbosity: 0,
      vmodule: undefined,
      logBacktraceAt: undefined,
      cleanup: false,
    });
  });
  it('returns a frozen object with frozen lists', () => {
    const o = options(['-iface=eth0']);
    assert.ok(Object.isFrozen(o));
    assert.ok(Object.isFrozen(o.etcdEndpoints));
    assert.ok(Object.isFrozen(o.ifaces));
    assert.ok(Object.isFrozen(o.ifaceRegexes));
  });
  it('keeps the flag table immutable', () => {
    assert.ok(Object.isFrozen(FLANNELD_FLAGS));
    for (const spec of FLANNELD_FLAGS) {
      assert.ok(Object.isFrozen(spec), spec.name);
      if (spec.kind === 'string-list') assert.ok(Object.isFrozen(spec.default), spec.name);
    }
  });
});

describe('parseFlanneldOptions: command line', () => {
  it('maps a typical kube DaemonSet command line', () => {
    const o = options(['--ip-masq', '--kube-subnet-mgr', '--iface=eth1', '--iface', '10.0.0.5', '-v=2', '--healthz-port', '10256']);
    assert.equal(o.ipMasq, true);
    assert.equal(o.kubeSubnetMgr, true);
    assert.deepEqual(o.ifaces, ['eth1', '10.0.0.5']);
    assert.equal(o.verbosity, 2);
    assert.equal(o.healthzPort, 10256);
  });
  it('maps the etcd flags', () => {
    const o = options([
      '-etcd-endpoints=https://10.0.0.1:2379,https://10.0.0.2:2379',
      '-etcd-prefix', '/my/net',
      '-etcd-keyfile=/k', '-etcd-certfile=/c', '-etcd-cafile=/ca',
      '-etcd-username=u', '-etcd-password=p',
    ]);
    assert.deepEqual(o.etcdEndpoints, ['https://10.0.0.1:2379', 'https://10.0.0.2:2379']);
    assert.equal(o.etcdPrefix, '/my/net');
    assert.deepEqual([o.etcdKeyfile, o.etcdCertfile, o.etcdCaFile, o.etcdUsername, o.etcdPassword], ['/k', '/c', '/ca', 'u', 'p']);
  });
  it('maps the remaining flags', () => {
    const o = options([
      '-kube-api-url=https://127.0.0.1:6443', '-kubeconfig-file=/kc', '-kube-annotation-prefix=example.com/x',
      '-net-config-path=/n.json', '-set-node-network-unavailable=false', '-use-multi-cluster-cidr', '-persistent-mac',
      '-iface-regex=^eth[0-9]+$', '-iface-regex', 'ens.*', '-iface-can-reach=192.168.1.1',
      '-public-ip=192.168.1.10', '-public-ipv6=fd00::10', '-subnet-file=/tmp/s.env',
      '-subnet-lease-renew-margin=1439', '-subnet-lease-ttl=48h', '-iptables-resync=30', '-iptables-forward-rules=false',
      '-healthz-ip=::1', '-vmodule=subnet=3', '-log_backtrace_at=main.go:1',
    ]);
    assert.equal(o.kubeApiUrl, 'https://127.0.0.1:6443');
    assert.equal(o.kubeconfigFile, '/kc');
    assert.equal(o.kubeAnnotationPrefix, 'example.com/x');
    assert.equal(o.netConfigPath, '/n.json');
    assert.equal(o.setNodeNetworkUnavailable, false);
    assert.equal(o.useMultiClusterCidr, true);
    assert.equal(o.persistentMac, true);
    assert.deepEqual(o.ifaceRegexes, ['^eth[0-9]+$', 'ens.*']);
    assert.equal(o.ifaceCanReach, '192.168.1.1');
    assert.equal(o.publicIp, '192.168.1.10');
    assert.equal(o.publicIpv6, 'fd00::10');
    assert.equal(o.subnetFile, '/tmp/s.env');
    assert.equal(o.subnetLeaseRenewMarginMin, 1439);
    assert.equal(o.subnetLeaseTtlMs, 172_800_000);
    assert.equal(o.iptablesResyncSec, 30);
    assert.equal(o.iptablesForwardRules, false);
    assert.equal(o.healthzIp, '::1');
    assert.equal(o.vmodule, 'subnet=3');
    assert.equal(o.logBacktraceAt, 'main.go:1');
  });
  it('accepts -v both as -v=2 and -v 2', () => {
    assert.equal(options(['-v=2']).verbosity, 2);
    assert.equal(options(['-v', '2']).verbosity, 2);
  });
  it('treats an empty string value as not set, like Go', () => {
    const o = options(['-public-ip=', '-etcd-keyfile=', '-healthz-ip=']);
    assert.equal(o.publicIp, undefined);
    assert.equal(o.etcdKeyfile, undefined);
    assert.equal(o.healthzIp, '');
  });
});

describe('parseFlanneldOptions: help and version', () => {
  for (const h of ['-h', '-help', '--help']) {
    it(`${h} returns the usage text`, () => {
      const r = parseFlanneldOptions(['-ip-masq', h, '-bogus'], {});
      assert.ok('help' in r);
      assert.equal(r.usage, flanneldUsage());
    });
  }
  it('-version wins over validation and the environment', () => {
    assert.deepEqual(parseFlanneldOptions(['-version', '-subnet-lease-renew-margin=0'], { FLANNELD_HEALTHZ_PORT: 'x' }), { version: true });
    assert.deepEqual(parseFlanneldOptions(['--version=true'], {}), { version: true });
  });
  it('FLANNELD_VERSION does nothing (Go reads the environment after the version check)', () => {
    const r = parseFlanneldOptions([], { FLANNELD_VERSION: 'true' });
    assert.ok(!('version' in r));
  });
  it('a parse error before -version is still an error', () => {
    assert.equal(usageError(['-bogus', '-version']).message, 'flag provided but not defined: -bogus');
  });
  it('usage lists every flag, sorted, in Go layout', () => {
    const text = flanneldUsage();
    assert.ok(text.startsWith('Usage of flanneld:\n  -cleanup\n'));
    assert.ok(text.includes('  -etcd-cafile string\n'));
    assert.ok(text.includes('  -etcd-endpoints string\n    \ta comma-delimited list of etcd endpoints (default "http://127.0.0.1:4001,http://127.0.0.1:2379")\n'));
    assert.ok(text.includes('  -iface value\n'));
    assert.ok(text.includes('  -ip-masq\n'));
    assert.ok(text.includes('  -subnet-lease-ttl duration\n'));
    assert.ok(text.includes('(default 24h0m0s)'));
    assert.ok(text.includes('  -iptables-forward-rules\n    \tadd default accept rules to FORWARD chain in iptables (default true)\n'));
    const names = [...text.matchAll(/^ {2}-(\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(names, FLANNELD_FLAGS.map((f) => f.name).sort());
  });
});

describe('parseFlanneldOptions: environment', () => {
  it('reads FLANNELD_<NAME> for every kind of flag', () => {
    const o = options([], {
      FLANNELD_ETCD_ENDPOINTS: 'http://127.0.0.1:12379',
      FLANNELD_IFACE: 'eth9',
      FLANNELD_IFACE_REGEX: '^en',
      FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '30',
      FLANNELD_SUBNET_LEASE_TTL: '2h',
      FLANNELD_IP_MASQ: 'true',
      FLANNELD_IPTABLES_FORWARD_RULES: 'false',
      FLANNELD_PUBLIC_IP: '10.1.2.3',
      FLANNELD_V: '4',
      FLANNELD_LOG_BACKTRACE_AT: 'x.go:3',
    });
    assert.deepEqual(o.etcdEndpoints, ['http://127.0.0.1:12379']);
    assert.deepEqual(o.ifaces, ['eth9']);
    assert.deepEqual(o.ifaceRegexes, ['^en']);
    assert.equal(o.subnetLeaseRenewMarginMin, 30);
    assert.equal(o.subnetLeaseTtlMs, 7_200_000);
    assert.equal(o.ipMasq, true);
    assert.equal(o.iptablesForwardRules, false);
    assert.equal(o.publicIp, '10.1.2.3');
    assert.equal(o.verbosity, 4);
    assert.equal(o.logBacktraceAt, 'x.go:3');
  });
  it('lets the command line beat the environment', () => {
    const o = options(['-ip-masq=false', '-iface=eth0', '-subnet-lease-renew-margin=10'], {
      FLANNELD_IP_MASQ: 'true',
      FLANNELD_IFACE: 'eth1',
      FLANNELD_SUBNET_LEASE_RENEW_MARGIN: 'garbage',
    });
    assert.equal(o.ipMasq, false);
    assert.deepEqual(o.ifaces, ['eth0']);
    assert.equal(o.subnetLeaseRenewMarginMin, 10);
  });
  it('takes FLANNELD_IFACE as one value, commas included (flagutil calls Set once)', () => {
    assert.deepEqual(options([], { FLANNELD_IFACE: 'eth0,eth1' }).ifaces, ['eth0,eth1']);
  });
  it('ignores empty variables and unknown FLANNELD_* names', () => {
    const o = options([], { FLANNELD_HEALTHZ_PORT: '', FLANNELD_NOT_A_FLAG: 'x' });
    assert.equal(o.healthzPort, 0);
  });
  it('names the variable and the value when a value is bad', () => {
    const e = usageError([], { FLANNELD_HEALTHZ_PORT: 'abc' });
    assert.equal(e.message, 'invalid value "abc" for FLANNELD_HEALTHZ_PORT: parse error');
    assert.equal(e.flag, 'healthz-port');
    assert.equal(usageError([], { FLANNELD_KUBE_SUBNET_MGR: 'yes' }).message, 'invalid value "yes" for FLANNELD_KUBE_SUBNET_MGR: parse error');
    assert.match(usageError([], { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '1440' }).message, /^invalid value "1440" for FLANNELD_SUBNET_LEASE_RENEW_MARGIN: /);
    assert.match(usageError([], { FLANNELD_PUBLIC_IP: 'fd00::1' }).message, /^invalid value "fd00::1" for FLANNELD_PUBLIC_IP: not an IPv4 address$/);
  });
});

describe('parseFlanneldOptions: validation', () => {
  const cases: Array<{ argv: string[]; flag: string; value: string }> = [
    { argv: ['-healthz-port=abc'], flag: 'healthz-port', value: 'abc' },
    { argv: ['-healthz-port=65536'], flag: 'healthz-port', value: '65536' },
    { argv: ['-healthz-port=-1'], flag: 'healthz-port', value: '-1' },
    { argv: ['-subnet-lease-renew-margin=0'], flag: 'subnet-lease-renew-margin', value: '0' },
    { argv: ['-subnet-lease-renew-margin=1440'], flag: 'subnet-lease-renew-margin', value: '1440' },
    { argv: ['-subnet-lease-renew-margin=0x5a0'], flag: 'subnet-lease-renew-margin', value: '0x5a0' },
    { argv: ['-iptables-resync=0'], flag: 'iptables-resync', value: '0' },
    { argv: ['-v=-1'], flag: 'v', value: '-1' },
    { argv: ['-v=high'], flag: 'v', value: 'high' },
    { argv: ['-public-ip=fd00::1'], flag: 'public-ip', value: 'fd00::1' },
    { argv: ['-public-ip=10.0.0'], flag: 'public-ip', value: '10.0.0' },
    { argv: ['-public-ip=eth0'], flag: 'public-ip', value: 'eth0' },
    { argv: ['-public-ipv6=10.0.0.1'], flag: 'public-ipv6', value: '10.0.0.1' },
    { argv: ['-public-ipv6=fe80::1%eth0'], flag: 'public-ipv6', value: 'fe80::1%eth0' },
    { argv: ['-iface-can-reach=example.com'], flag: 'iface-can-reach', value: 'example.com' },
    { argv: ['-healthz-ip=localhost'], flag: 'healthz-ip', value: 'localhost' },
    { argv: ['-iface-regex=eth0', '-iface-regex=eth[0-'], flag: 'iface-regex', value: 'eth[0-' },
    { argv: ['-iface-regex=(unclosed'], flag: 'iface-regex', value: '(unclosed' },
    { argv: ['-etcd-endpoints=http://a:2379,'], flag: 'etcd-endpoints', value: 'http://a:2379,' },
    { argv: ['-subnet-lease-ttl=4s'], flag: 'subnet-lease-ttl', value: '4s' },
    { argv: ['-subnet-lease-ttl=0'], flag: 'subnet-lease-ttl', value: '0' },
    { argv: ['-subnet-lease-ttl=-24h'], flag: 'subnet-lease-ttl', value: '-24h' },
    { argv: ['-subnet-lease-ttl=577h'], flag: 'subnet-lease-ttl', value: '577h' },
    { argv: ['-subnet-lease-ttl=90.5s'], flag: 'subnet-lease-ttl', value: '90.5s' },
    { argv: ['-subnet-lease-ttl=1d'], flag: 'subnet-lease-ttl', value: '1d' },
    { argv: ['-ip-masq=maybe'], flag: 'ip-masq', value: 'maybe' },
  ];
  for (const c of cases) {
    it(`rejects ${c.argv.join(' ')}`, () => {
      const e = usageError(c.argv);
      assert.equal(e.code, 'ERR_USAGE');
      assert.equal(e.flag, c.flag);
      assert.ok(e.message.includes(`-${c.flag}`), e.message);
      assert.ok(e.message.includes(JSON.stringify(c.value)), e.message);
    });
  }
  it('words range errors like Go flag errors', () => {
    assert.equal(
      usageError(['-healthz-port=65536']).message,
      'invalid value "65536" for flag -healthz-port: must be a TCP port between 0 and 65535',
    );
  });
  it('accepts the edges of each range', () => {
    assert.equal(options(['-healthz-port=65535']).healthzPort, 65535);
    assert.equal(options(['-subnet-lease-renew-margin=1']).subnetLeaseRenewMarginMin, 1);
    assert.equal(options(['-subnet-lease-ttl=61s', '-subnet-lease-renew-margin=1']).subnetLeaseTtlMs, 61_000);
    assert.equal(options(['-subnet-lease-ttl=576h']).subnetLeaseTtlMs, 576 * 3_600_000);
  });
  it('accepts a lease TTL shorter than the renew margin (renewal then happens at a third of the TTL)', () => {
    assert.equal(options(['-subnet-lease-ttl=5s']).subnetLeaseTtlMs, 5_000);
    assert.equal(options(['-subnet-lease-ttl=1h']).subnetLeaseTtlMs, 3_600_000);
    assert.match(usageError(['-subnet-lease-ttl=4s']).message, /must be at least 5s/);
  });
  it('accepts IPv4-only, IPv6-only and either-family addresses where due', () => {
    assert.equal(options(['-iface-can-reach=fd00::1']).ifaceCanReach, 'fd00::1');
    assert.equal(options(['-healthz-ip=127.0.0.1']).healthzIp, '127.0.0.1');
  });
  it('reports an unknown flag, a missing value and a stray argument', () => {
    assert.equal(usageError(['-foo']).message, 'flag provided but not defined: -foo');
    assert.equal(usageError(['-ip-masq', '-subnet-file']).message, 'flag needs an argument: -subnet-file');
    const stray = usageError(['-ip-masq', 'eth0', '-v=2']);
    assert.equal(stray.flag, 'eth0');
    assert.match(stray.message, /unexpected argument "eth0"/);
  });
  it('allows arguments after "--" to be refused too (flanneld takes none)', () => {
    assert.match(usageError(['--', 'x']).message, /unexpected argument "x"/);
  });
});
