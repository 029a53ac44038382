import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BACKEND, parseNetworkConfig, unknownConfigFields, validateNetworkConfig, type NetworkConfig } from '../../../src/config/network-config.js';
import { ConfigError } from '../../../src/errors.js';

const parse = (doc: unknown, opts = {}) => parseNetworkConfig(JSON.stringify(doc), opts);

function expectConfigError(fn: () => unknown, field: string, valueText: string): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_CONFIG');
  assert.equal(caught.field, field, caught.message);
  assert.ok(caught.message.includes(field), `message names the field: ${caught.message}`);
  assert.ok(caught.message.includes(valueText), `message names the value ${valueText}: ${caught.message}`);
  return caught;
}

const range = (c: NetworkConfig) => [c.subnetLen, c.subnetMin?.toString(), c.subnetMax?.toString()];
const range6 = (c: NetworkConfig) => [c.ipv6SubnetLen, c.ipv6SubnetMin?.toString(), c.ipv6SubnetMax?.toString()];

describe('network config defaults (flannel CheckNetworkConfig)', () => {
  it('EnableIPv4 defaults to true, EnableIPv6 to false, Backend to vxlan', () => {
    const c = parse({ Network: '10.244.0.0/16' });
    assert.equal(c.enableIPv4, true);
    assert.equal(c.enableIPv6, false);
    assert.equal(c.enableNFTables, false);
    assert.equal(c.backendType, 'vxlan');
    assert.equal(DEFAULT_BACKEND, 'vxlan');
    assert.deepEqual(c.backend, { Type: 'vxlan' });
    assert.equal(c.network?.toString(), '10.244.0.0/16');
    assert.equal(c.ipv6Network, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.backend));
  });

  const v4: Array<[string, [number, string, string]]> = [
    ['10.0.0.0/8', [24, '10.0.1.0', '10.255.255.0']],
    ['10.244.0.0/16', [24, '10.244.1.0', '10.244.255.0']],
    ['10.0.0.0/22', [24, '10.0.1.0', '10.0.3.0']],
    ['10.0.0.0/23', [25, '10.0.0.128', '10.0.1.128']],
    ['10.0.0.0/24', [26, '10.0.0.64', '10.0.0.192']],
    ['10.0.0.0/28', [30, '10.0.0.4', '10.0.0.12']],
    // At the top of the address space, where network.next() does not exist.
    ['255.255.0.0/16', [24, '255.255.1.0', '255.255.255.0']],
    ['0.0.0.0/0', [24, '0.0.1.0', '255.255.255.0']],
  ];
  for (const [network, want] of v4) {
    it(`Network ${network}: SubnetLen, SubnetMin, SubnetMax = ${want.join(', ')}`, () => {
      assert.deepEqual(range(parse({ Network: network })), want);
    });
  }

  it('an explicit SubnetLen keeps the second/last subnet defaults', () => {
    assert.deepEqual(range(parse({ Network: '10.244.0.0/16', SubnetLen: 18 })), [18, '10.244.64.0', '10.244.192.0']);
    assert.deepEqual(range(parse({ Network: '10.244.0.0/16', SubnetLen: 30 })), [30, '10.244.0.4', '10.244.255.252']);
  });

  it('explicit SubnetMin and SubnetMax are kept; 0.0.0.0 means "not set" as in flannel', () => {
    const c = parse({ Network: '10.244.0.0/16', SubnetMin: '10.244.10.0', SubnetMax: '10.244.20.0' });
    assert.deepEqual(range(c), [24, '10.244.10.0', '10.244.20.0']);
    const z = parse({ Network: '10.244.0.0/16', SubnetMin: '0.0.0.0', SubnetMax: '0.0.0.0' });
    assert.deepEqual(range(z), [24, '10.244.1.0', '10.244.255.0']);
    const same = parse({ Network: '10.244.0.0/16', SubnetMin: '10.244.7.0', SubnetMax: '10.244.7.0' });
    assert.deepEqual(range(same), [24, '10.244.7.0', '10.244.7.0']);
  });

  const v6: Array<[string, [number, string, string]]> = [
    ['fc00::/48', [64, 'fc00:0:0:1::', 'fc00:0:0:ffff::']],
    ['fc00::/62', [64, 'fc00:0:0:1::', 'fc00:0:0:3::']],
    ['fc00::/63', [65, 'fc00::8000:0:0:0', 'fc00:0:0:1:8000::']],
    ['fc00::/124', [126, 'fc00::4', 'fc00::c']],
    ['ffff::/16', [64, 'ffff:0:0:1::', 'ffff:ffff:ffff:ffff::']],
  ];
  for (const [network, want] of v6) {
    it(`IPv6Network ${network}: IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax = ${want.join(', ')}`, () => {
      const c = parse({ EnableIPv4: false, EnableIPv6: true, IPv6Network: network });
      assert.equal(c.enableIPv4, false);
      assert.equal(c.network, undefined);
      assert.deepEqual(range6(c), want);
    });
  }

  it('dual stack computes both families', () => {
    const c = parse({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 56 });
    assert.deepEqual(range(c), [24, '10.244.1.0', '10.244.255.0']);
    assert.deepEqual(range6(c), [56, 'fc00:0:0:100::', 'fc00:0:0:ff00::']);
    const z = parse({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: '::' });
    assert.equal(z.ipv6SubnetMin?.toString(), 'fc00:0:0:1::');
  });

  it('a disabled family is parsed but not checked', () => {
    const c = parse({ EnableIPv4: false, Network: '10.0.0.0/30', EnableIPv6: true, IPv6Network: 'fc00::/48' });
    assert.equal(c.network?.toString(), '10.0.0.0/30');
    assert.equal(c.subnetMin, undefined);
  });

  it('checkSubnetRanges: false (kube) skips the range computation', () => {
    const c = parse({ Network: '10.0.0.0/30' }, { checkSubnetRanges: false });
    assert.equal(c.subnetLen, 0);
    assert.equal(c.subnetMin, undefined);
    assert.equal(c.subnetMax, undefined);
  });

  it('Backend: type is lower-cased as flannel does, other fields kept', () => {
    const c = parse({ Network: '10.244.0.0/16', Backend: { Type: 'VXLAN', VNI: 4096, Port: 4789 } }, { knownBackends: ['vxlan'] });
    assert.equal(c.backendType, 'vxlan');
    assert.deepEqual(c.backend, { Type: 'vxlan', VNI: 4096, Port: 4789 });
    assert.equal(parse({ Network: '10.244.0.0/16', Backend: {} }).backendType, 'vxlan');
    assert.equal(parse({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }).backendType, 'host-gw');
  });

  it('validateNetworkConfig takes an object; unknownConfigFields lists strays', () => {
    assert.equal(validateNetworkConfig({ Network: '10.1.0.0/16' }).subnetLen, 24);
    assert.deepEqual(unknownConfigFields({ Network: 'x', Netwrok: 'y', SubnetLen: 1, Foo: 2 }), ['Netwrok', 'Foo']);
  });
});

describe('network config errors name the field and the value', () => {
  const N = '10.244.0.0/16';
  it('malformed JSON', () => {
    const err = expectConfigError(() => parseNetworkConfig('{"Network": '), '(document)', '{\\"Network\\": ');
    assert.ok(err.cause instanceof SyntaxError);
    assert.ok(err.message.includes('malformed JSON'));
  });
  it('a long malformed document is truncated in the message', () => {
    const text = `{"Network": "${'x'.repeat(500)}`;
    const err = expectConfigError(() => parseNetworkConfig(text), '(document)', '...');
    assert.ok(err.message.length < 300);
  });
  for (const doc of ['[1,2]', 'null', '"10.0.0.0/8"', '42', 'true']) {
    it(`not an object: ${doc}`, () => {
      expectConfigError(() => parseNetworkConfig(doc), '(document)', JSON.stringify(doc).slice(1, -1));
    });
  }
  it('invalid CIDR', () => {
    const err = expectConfigError(() => parse({ Network: '10.244.0.0/33' }), 'Network', '"10.244.0.0/33"');
    assert.equal(err.value, '10.244.0.0/33');
    expectConfigError(() => parse({ Network: '10.244.0.0' }), 'Network', '"10.244.0.0"');
    expectConfigError(() => parse({ Network: 'banana' }), 'Network', '"banana"');
    expectConfigError(() => parse({ Network: 42 }), 'Network', '42');
    expectConfigError(() => parse({ EnableIPv6: true, Network: N, IPv6Network: 'fc00::/129' }), 'IPv6Network', '"fc00::/129"');
  });
  it('wrong family', () => {
    expectConfigError(() => parse({ Network: 'fc00::/48' }), 'Network', '"fc00::/48"');
    expectConfigError(() => parse({ EnableIPv6: true, Network: N, IPv6Network: '10.0.0.0/8' }), 'IPv6Network', '"10.0.0.0/8"');
    expectConfigError(() => parse({ Network: N, SubnetMin: 'fc00::' }), 'SubnetMin', '"fc00::"');
    expectConfigError(() => parse({ EnableIPv6: true, Network: N, IPv6Network: 'fc00::/48', IPv6SubnetMax: '10.0.0.0' }), 'IPv6SubnetMax', '"10.0.0.0"');
  });
  it('missing Network', () => {
    expectConfigError(() => parse({}), 'Network', 'EnableIPv4');
    expectConfigError(() => parse({ Network: '' }), 'Network', 'required');
  });
  it('network too small', () => {
    expectConfigError(() => parse({ Network: '10.0.0.0/29' }), 'Network', '"10.0.0.0/29"');
    expectConfigError(() => parse({ Network: '10.0.0.0/32' }), 'Network', '"10.0.0.0/32"');
    expectConfigError(() => parse({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/125' }), 'IPv6Network', '"fc00::/125"');
  });
  it('SubnetLen <= prefix, < prefix+2, > 30', () => {
    expectConfigError(() => parse({ Network: N, SubnetLen: 16 }), 'SubnetLen', 'SubnetLen=16');
    expectConfigError(() => parse({ Network: N, SubnetLen: 8 }), 'SubnetLen', 'SubnetLen=8');
    const e = expectConfigError(() => parse({ Network: N, SubnetLen: 17 }), 'SubnetLen', 'SubnetLen=17');
    assert.ok(e.message.includes('18'));
    expectConfigError(() => parse({ Network: N, SubnetLen: 31 }), 'SubnetLen', 'SubnetLen=31');
    expectConfigError(() => parse({ Network: N, SubnetLen: 32 }), 'SubnetLen', 'SubnetLen=32');
    expectConfigError(() => parse({ Network: N, SubnetLen: -1 }), 'SubnetLen', 'SubnetLen=-1');
    expectConfigError(() => parse({ Network: N, SubnetLen: 24.5 }), 'SubnetLen', '24.5');
    expectConfigError(() => parse({ Network: N, SubnetLen: '24' }), 'SubnetLen', '"24"');
    const v6 = { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48' };
    expectConfigError(() => parse({ ...v6, IPv6SubnetLen: 127 }), 'IPv6SubnetLen', 'IPv6SubnetLen=127');
    expectConfigError(() => parse({ ...v6, IPv6SubnetLen: 49 }), 'IPv6SubnetLen', 'IPv6SubnetLen=49');
    assert.equal(parse({ ...v6, IPv6SubnetLen: 126 }).ipv6SubnetLen, 126);
  });
  it('SubnetMin / SubnetMax outside the network', () => {
    expectConfigError(() => parse({ Network: N, SubnetMin: '10.245.0.0' }), 'SubnetMin', '"10.245.0.0"');
    expectConfigError(() => parse({ Network: N, SubnetMax: '10.243.255.0' }), 'SubnetMax', '"10.243.255.0"');
    expectConfigError(
      () => parse({ EnableIPv6: true, Network: N, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc00:1::' }),
      'IPv6SubnetMin',
      '"fc00:1::"',
    );
  });
  it('SubnetMin / SubnetMax not aligned', () => {
    expectConfigError(() => parse({ Network: N, SubnetMin: '10.244.1.5' }), 'SubnetMin', '"10.244.1.5"');
    expectConfigError(() => parse({ Network: N, SubnetMax: '10.244.9.128' }), 'SubnetMax', '"10.244.9.128"');
    expectConfigError(
      () => parse({ EnableIPv6: true, Network: N, IPv6Network: 'fc00::/48', IPv6SubnetMax: 'fc00:0:0:5::1' }),
      'IPv6SubnetMax',
      '"fc00:0:0:5::1"',
    );
  });
  it('SubnetMin / SubnetMax not addresses', () => {
    expectConfigError(() => parse({ Network: N, SubnetMin: '10.244.1' }), 'SubnetMin', '"10.244.1"');
    expectConfigError(() => parse({ Network: N, SubnetMax: 7 }), 'SubnetMax', '7');
  });
  it('SubnetMin greater than SubnetMax', () => {
    const e = expectConfigError(() => parse({ Network: N, SubnetMin: '10.244.9.0', SubnetMax: '10.244.3.0' }), 'SubnetMin', '"10.244.9.0"');
    assert.ok(e.message.includes('10.244.3.0'));
  });
  it('unknown backend type, listing the known ones', () => {
    const e = expectConfigError(
      () => parse({ Network: N, Backend: { Type: 'Nope' } }, { knownBackends: ['vxlan', 'host-gw'] }),
      'Backend.Type',
      '"Nope"',
    );
    assert.ok(e.message.includes('vxlan, host-gw'));
    expectConfigError(() => parse({ Network: N, Backend: { Type: 7 } }), 'Backend.Type', '7');
    expectConfigError(() => parse({ Network: N, Backend: { Type: '' } }), 'Backend.Type', '""');
    expectConfigError(() => parse({ Network: N, Backend: 'vxlan' }), 'Backend', '"vxlan"');
    expectConfigError(() => parse({ Network: N, Backend: ['vxlan'] }), 'Backend', '["vxlan"]');
  });
  it('non-boolean EnableIPv4 / EnableIPv6 / EnableNFTables', () => {
    expectConfigError(() => parse({ Network: N, EnableIPv6: 'true' }), 'EnableIPv6', '"true"');
    expectConfigError(() => parse({ Network: N, EnableIPv6: 1 }), 'EnableIPv6', '1');
    expectConfigError(() => parse({ Network: N, EnableIPv4: 'yes' }), 'EnableIPv4', '"yes"');
    expectConfigError(() => parse({ Network: N, EnableNFTables: 0 }), 'EnableNFTables', '0');
  });
  it('IPv6 enabled without IPv6Network', () => {
    expectConfigError(() => parse({ Network: N, EnableIPv6: true }), 'IPv6Network', 'EnableIPv6');
  });
  it('both families disabled', () => {
    expectConfigError(() => parse({ Network: N, EnableIPv4: false }), 'EnableIPv4', 'false');
    expectConfigError(() => parse({ EnableIPv4: false, EnableIPv6: false, IPv6Network: 'fc00::/48' }), 'EnableIPv4', 'false');
  });
});
