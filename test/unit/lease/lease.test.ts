import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedInputError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import {
  decodeLeaseAttrs,
  describeLease,
  encodeLeaseAttrs,
  leaseId,
  leaseKey,
  parseSubnetKey,
  sameLeaseKey,
  subnetKey,
  type LeaseAttrs,
} from '../../../src/lease/lease.js';

const net = (s: string) => IPNetwork.parse(s);
const ip = (s: string) => IPAddress.parse(s);

function attrs(a: Partial<LeaseAttrs>): LeaseAttrs {
  return { publicIP: undefined, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined, ...a };
}

describe('subnetKey / parseSubnetKey (flannel MakeSubnetKey / ParseSubnetKey)', () => {
  const cases: Array<[string | undefined, string | undefined, string]> = [
    ['10.244.23.0/24', undefined, '10.244.23.0-24'],
    ['10.0.0.0/30', undefined, '10.0.0.0-30'],
    ['10.244.23.0/24', 'fc00:0:0:3::/64', '10.244.23.0-24&fc00:0:0:3::-64'],
    [undefined, 'fc00:0:0:3::/64', '0.0.0.0-0&fc00:0:0:3::-64'],
    [undefined, '2001:db8:1:2::/64', '0.0.0.0-0&2001:db8:1:2::-64'],
  ];
  for (const [v4, v6, key] of cases) {
    it(`${v4 ?? '-'} + ${v6 ?? '-'} <-> ${key}`, () => {
      const sn = v4 ? net(v4) : undefined;
      const sn6 = v6 ? net(v6) : undefined;
      assert.equal(subnetKey(sn, sn6), key);
      assert.equal(leaseKey({ subnet: sn, ipv6Subnet: sn6 }), key);
      const back = parseSubnetKey(key);
      assert.ok(back, key);
      assert.equal(back.subnet?.toString(), sn?.toString());
      assert.equal(back.ipv6Subnet?.toString(), sn6?.toString());
    });
  }

  it('parses the full etcd key, as flannel does', () => {
    const p = parseSubnetKey('/coreos.com/network/subnets/10.244.23.0-24');
    assert.equal(p?.subnet?.toString(), '10.244.23.0/24');
    assert.equal(p?.ipv6Subnet, undefined);
    const d = parseSubnetKey('/coreos.com/network/subnets/10.244.23.0-24&fc00:0:0:17::-64');
    assert.equal(d?.ipv6Subnet?.toString(), 'fc00:0:0:17::/64');
  });

  it('reads keys as KEY_RE does: a length with a leading zero, a subnet key at the end of other text', () => {
    assert.equal(parseSubnetKey('10.244.23.0-024')?.subnet?.toString(), '10.244.23.0/24');
    assert.equal(parseSubnetKey('1.10.244.23.0-24')?.subnet?.toString(), '10.244.23.0/24');
    assert.equal(parseSubnetKey('x10.244.23.0-24')?.subnet?.toString(), '10.244.23.0/24');
    assert.equal(parseSubnetKey('0.0.0.0-0')?.subnet?.toString(), '0.0.0.0/0');
    for (const junk of ['010.244.23.0-24', '10.244.23.0-0024', '10.244.23.256-24', '10.244.23.0--24', '10.244.23.0-24-24']) {
      assert.equal(parseSubnetKey(junk), undefined, junk);
    }
  });

  it('sameLeaseKey agrees with comparing leaseKey strings', () => {
    const pairs: Array<[string | undefined, string | undefined]> = [
      ['10.244.23.0/24', undefined],
      ['10.244.23.0/25', undefined],
      ['10.244.24.0/24', undefined],
      ['10.244.23.0/24', 'fc00:0:0:3::/64'],
      ['10.244.23.0/24', 'fc00:0:0:4::/64'],
      [undefined, 'fc00:0:0:3::/64'],
      ['0.0.0.0/0', 'fc00:0:0:3::/64'],
      [undefined, undefined],
      ['0.0.0.0/0', undefined],
    ];
    const leases = pairs.map(([a, b]) => ({ subnet: a ? net(a) : undefined, ipv6Subnet: b ? net(b) : undefined }));
    for (const x of leases) {
      for (const y of leases) assert.equal(sameLeaseKey(x, y), leaseKey(x) === leaseKey(y), `${leaseKey(x)} vs ${leaseKey(y)}`);
    }
  });

  it('leaseId agrees with leaseKey, and is a number for IPv4-only leases', () => {
    const pairs: Array<[string | undefined, string | undefined]> = [
      ['10.244.23.0/24', undefined],
      ['10.244.23.0/25', undefined],
      ['10.244.23.128/25', undefined],
      ['255.255.255.255/32', undefined],
      ['255.255.255.252/30', undefined],
      ['10.244.23.0/24', 'fc00:0:0:3::/64'],
      [undefined, 'fc00:0:0:3::/64'],
      ['0.0.0.0/0', 'fc00:0:0:3::/64'],
      [undefined, undefined],
      ['0.0.0.0/0', undefined],
    ];
    const leases = pairs.map(([a, b]) => ({ subnet: a ? net(a) : undefined, ipv6Subnet: b ? net(b) : undefined }));
    for (const x of leases) {
      for (const y of leases) assert.equal(leaseId(x) === leaseId(y), leaseKey(x) === leaseKey(y), `${leaseKey(x)} vs ${leaseKey(y)}`);
    }
    assert.equal(typeof leaseId(leases[0]!), 'number');
    assert.equal(typeof leaseId(leases[5]!), 'string');
  });

  for (const junk of [
    '',
    'config',
    '10.244.23.0',
    '10.244.23.0-',
    '10.244.23.0/24',
    '10.244.23.0-24x',
    '10.244.23.0-24&',
    '10.244.23.0-33',
    '300.244.23.0-24',
    '10.244.23.0-24&fc00::-129',
    '10.244.23.0-24&fc00::1::-64',
    '10.244.23.0-24&FC00::-64',
    '10.244.23.5-24',
    '10.244.23.0-24&fc00::1-64',
    'fc00::-64',
  ]) {
    it(`rejects ${JSON.stringify(junk)}`, () => {
      assert.equal(parseSubnetKey(junk), undefined);
    });
  }
});

describe('encodeLeaseAttrs writes exactly what Go flannel writes', () => {
  it('vxlan (COMPAT.md)', () => {
    const a = attrs({ publicIP: ip('192.168.77.11'), backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '5a:9b:6c:cc:33:80' } });
    assert.equal(
      encodeLeaseAttrs(a),
      '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:80"}}',
    );
  });
  it('host-gw (COMPAT.md)', () => {
    assert.equal(
      encodeLeaseAttrs(attrs({ publicIP: ip('192.168.77.11'), backendType: 'host-gw' })),
      '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"host-gw"}',
    );
  });
  it('alloc and udp: no BackendType (COMPAT.md)', () => {
    assert.equal(encodeLeaseAttrs(attrs({ publicIP: ip('192.168.77.11') })), '{"PublicIP":"192.168.77.11","PublicIPv6":null}');
    assert.equal(encodeLeaseAttrs(attrs({ publicIP: ip('192.168.77.11'), backendType: '' })), '{"PublicIP":"192.168.77.11","PublicIPv6":null}');
  });
  it('dual stack with PublicIPv6 and BackendV6Data', () => {
    const a = attrs({
      publicIP: ip('192.168.77.11'),
      publicIPv6: ip('fd00:77::11'),
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '5a:9b:6c:cc:33:80' },
      backendV6Data: { VNI: 1, VtepMAC: '5a:9b:6c:cc:33:81' },
    });
    assert.equal(
      encodeLeaseAttrs(a),
      '{"PublicIP":"192.168.77.11","PublicIPv6":"fd00:77::11","BackendType":"vxlan",' +
        '"BackendData":{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:80"},"BackendV6Data":{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:81"}}',
    );
  });
  it('IPv6 only: PublicIP is the zero address, as Go writes an unset ip.IP4', () => {
    const a = attrs({ publicIPv6: ip('fd00:77::11'), backendType: 'wireguard', backendV6Data: { PublicKey: 'a+b/c=', Port: 51821 } });
    assert.equal(
      encodeLeaseAttrs(a),
      '{"PublicIP":"0.0.0.0","PublicIPv6":"fd00:77::11","BackendType":"wireguard","BackendV6Data":{"PublicKey":"a+b/c=","Port":51821}}',
    );
  });
  it('null backend data is omitted (omitempty)', () => {
    assert.equal(encodeLeaseAttrs(attrs({ publicIP: ip('10.0.0.1'), backendData: null })), '{"PublicIP":"10.0.0.1","PublicIPv6":null}');
  });
  it('escapes <, >, &, U+2028 and U+2029 in strings as Go encoding/json does', () => {
    const a = attrs({ publicIP: ip('10.0.0.1'), backendType: 'a<b>&c', backendData: { Note: 'x\u2028y\u2029z' } });
    assert.equal(
      encodeLeaseAttrs(a),
      '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"a\\u003cb\\u003e\\u0026c","BackendData":{"Note":"x\\u2028y\\u2029z"}}',
    );
    assert.equal(decodeLeaseAttrs(encodeLeaseAttrs(a)).backendType, 'a<b>&c');
  });
});

describe('decodeLeaseAttrs', () => {
  it('reads what Go flannel writes and round-trips byte for byte', () => {
    for (const text of [
      '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:80"}}',
      '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"host-gw"}',
      '{"PublicIP":"192.168.77.11","PublicIPv6":null}',
      '{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"},"BackendV6Data":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:fe"}}',
      '{"PublicIP":"0.0.0.0","PublicIPv6":"fd00::1","BackendType":"wireguard","BackendV6Data":{"PublicKey":"k","Port":51821}}',
    ]) {
      assert.equal(encodeLeaseAttrs(decodeLeaseAttrs(text)), text);
    }
  });

  it('exposes the fields', () => {
    const a = decodeLeaseAttrs('{"PublicIP":"10.0.0.1","PublicIPv6":"FD00::1","BackendType":"vxlan","BackendData":{"VNI":7}}');
    assert.equal(a.publicIP?.toString(), '10.0.0.1');
    assert.equal(a.publicIPv6?.toString(), 'fd00::1');
    assert.equal(a.backendType, 'vxlan');
    assert.deepEqual(a.backendData, { VNI: 7 });
    assert.equal(a.backendV6Data, undefined);
  });

  it('is lenient: unknown fields ignored, missing fields undefined, other order accepted', () => {
    const a = decodeLeaseAttrs('{"Extra":{"x":1},"BackendType":"host-gw","PublicIP":"10.0.0.2","Future":[1,2]}');
    assert.equal(a.publicIP?.toString(), '10.0.0.2');
    assert.equal(a.publicIPv6, undefined);
    assert.equal(a.backendType, 'host-gw');
    assert.equal(encodeLeaseAttrs(a), '{"PublicIP":"10.0.0.2","PublicIPv6":null,"BackendType":"host-gw"}');
    assert.deepEqual(decodeLeaseAttrs('{}'), attrs({}));
  });

  it('drops unusable addresses: zero, malformed, non-string, wrong family', () => {
    assert.equal(decodeLeaseAttrs('{"PublicIP":"0.0.0.0"}').publicIP, undefined);
    assert.equal(decodeLeaseAttrs('{"PublicIP":"10.0.0"}').publicIP, undefined);
    assert.equal(decodeLeaseAttrs('{"PublicIP":167772161}').publicIP, undefined);
    assert.equal(decodeLeaseAttrs('{"PublicIP":"fd00::1"}').publicIP, undefined);
    assert.equal(decodeLeaseAttrs('{"PublicIPv6":"10.0.0.1"}').publicIPv6, undefined);
    assert.equal(decodeLeaseAttrs('{"PublicIPv6":"::"}').publicIPv6, undefined);
    assert.equal(decodeLeaseAttrs('{"BackendType":""}').backendType, undefined);
    assert.equal(decodeLeaseAttrs('{"BackendType":5}').backendType, undefined);
  });

  it('throws on text that is not a JSON object', () => {
    assert.throws(() => decodeLeaseAttrs('not json'), MalformedInputError);
    assert.throws(() => decodeLeaseAttrs('null'), MalformedInputError);
    assert.throws(() => decodeLeaseAttrs('"x"'), MalformedInputError);
  });
});

describe('describeLease', () => {
  it('names both subnets', () => {
    const base = { attrs: attrs({}), expiration: undefined };
    assert.equal(describeLease({ ...base, subnet: net('10.0.1.0/24'), ipv6Subnet: undefined }), '10.0.1.0/24');
    assert.equal(describeLease({ ...base, subnet: net('10.0.1.0/24'), ipv6Subnet: net('fc00:0:0:1::/64') }), '10.0.1.0/24 + fc00:0:0:1::/64');
  });
});
