import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { forwardChain, masqChain, quoteArg, renderRestore, ruleLine } from '../../../src/traffic/iptables/iptables-rules.js';
import { hasRandomFully, hasRestoreWait, parseIptablesVersion } from '../../../src/traffic/iptables/iptables-version.js';
import { masqSpecs } from '../../../src/traffic/traffic-spec.js';

const net = IPNetwork.parse;

function v4Masq(randomFully: boolean) {
  const [spec] = masqSpecs({ network: net('10.244.0.0/16'), subnet: net('10.244.1.0/24') });
  assert.ok(spec);
  return masqChain(spec, randomFully);
}

describe('iptables masquerade rules (flannel pkg/trafficmngr/iptables masqRules)', () => {
  it('renders flannel\'s IPv4 chain in flannel\'s order, as iptables-save prints it', () => {
    const c = v4Masq(true);
    assert.equal(c.table, 'nat');
    assert.equal(c.chain, 'FLANNEL-POSTRTG');
    assert.equal(ruleLine(c.jump), '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    assert.deepEqual(
      c.rules.map((r) => ruleLine(r)),
      [
        '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      ],
    );
  });

  it('leaves out --random-fully when unsupported or disabled', () => {
    const lines = v4Masq(false).rules.map((r) => ruleLine(r));
    assert.equal(lines[4], '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE');
    assert.equal(lines[5], '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE');
    const [spec] = masqSpecs({ network: net('10.244.0.0/16'), subnet: net('10.244.1.0/24'), randomFully: false });
    assert.equal(spec?.randomFully, false);
  });

  it('renders the IPv6 chain with ff00::/8 as multicast', () => {
    const [spec] = masqSpecs({ ipv6Network: net('fd00:10:244::/56'), ipv6Subnet: net('fd00:10:244:1::/64') });
    assert.ok(spec);
    assert.equal(spec.family, 6);
    assert.deepEqual(
      masqChain(spec, true).rules.map((r) => ruleLine(r)),
      [
        '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s fd00:10:244:1::/64 -d fd00:10:244::/56 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s fd00:10:244::/56 -d fd00:10:244:1::/64 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG ! -s fd00:10:244::/56 -d fd00:10:244:1::/64 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s fd00:10:244::/56 ! -d ff00::/8 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        '-A FLANNEL-POSTRTG ! -s fd00:10:244::/56 -d fd00:10:244::/56 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      ],
    );
  });

  it('takes another kube-proxy mark bit', () => {
    const [spec] = masqSpecs({ network: net('10.244.0.0/16'), subnet: net('10.244.1.0/24'), kubeProxyMarkMasq: 0x8000 });
    assert.ok(spec);
    assert.equal(ruleLine(masqChain(spec, false).rules[0] ?? { chain: '', args: [] }), '-A FLANNEL-POSTRTG -m mark --mark 0x8000/0x8000 -m comment --comment "flanneld masq" -j RETURN');
  });
});

describe('iptables forward rules (flannel forwardRules)', () => {
  it('renders FLANNEL-FWD in filter, jumped to from FORWARD', () => {
    const c = forwardChain({ family: 4, network: net('10.244.0.0/16') });
    assert.equal(c.table, 'filter');
    assert.equal(ruleLine(c.jump), '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
    assert.deepEqual(
      c.rules.map((r) => ruleLine(r)),
      [
        '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      ],
    );
    assert.equal(ruleLine(c.jump, '-D'), '-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
  });
});

describe('iptables-restore input', () => {
  it('quotes like iptables-save', () => {
    assert.equal(quoteArg('flanneld masq'), '"flanneld masq"');
    assert.equal(quoteArg('a"b'), '"a\\"b"');
    assert.equal(quoteArg(''), '""');
    assert.equal(quoteArg('10.244.0.0/16'), '10.244.0.0/16');
  });

  it('renders one block per table, skipping empty ones', () => {
    const text = renderRestore(
      new Map([
        ['nat', [':FLANNEL-POSTRTG - [0:0]', '-A FLANNEL-POSTRTG -j RETURN']],
        ['filter', []],
      ]),
    );
    assert.equal(text, '*nat\n:FLANNEL-POSTRTG - [0:0]\n-A FLANNEL-POSTRTG -j RETURN\nCOMMIT\n');
  });
});

describe('iptables version', () => {
  it('parses `iptables --version` and decides --random-fully and --wait like flannel', () => {
    const v = parseIptablesVersion('iptables v1.8.9 (nf_tables)\n');
    assert.deepEqual(v, { major: 1, minor: 8, patch: 9, backend: 'nf_tables' });
    assert.equal(hasRandomFully(v), true);
    assert.equal(hasRestoreWait(v), true);
    const old = parseIptablesVersion('iptables v1.6.1');
    assert.equal(old?.backend, undefined);
    assert.equal(hasRandomFully(old), false);
    assert.equal(hasRandomFully(parseIptablesVersion('ip6tables v1.6.2 (legacy)')), true);
    assert.equal(hasRandomFully(parseIptablesVersion('iptables v1.4.21')), false);
    assert.equal(parseIptablesVersion('garbage'), undefined);
    assert.equal(hasRandomFully(undefined), false);
  });
});
