import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDelegateConfig, sortKeysDeep } from '../../../src/cni/delegate-config.js';
import { parseNetConf } from '../../../src/cni/net-conf.js';
import { parseSubnetFacts } from '../../../src/cni/subnet-facts.js';
import { CniError } from '../../../src/errors.js';

const V4 = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const DUAL = `${V4}FLANNEL_IPV6_NETWORK=fc00:5::/48\nFLANNEL_IPV6_SUBNET=fc00:5:0:17::1/64\n`;

function build(conf: object, env = V4) {
  return buildDelegateConfig(parseNetConf(JSON.stringify(conf)), parseSubnetFacts(env, '/run/flannel/subnet.env'));
}

function cniCode(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CniError, `want a CniError, got ${String(err)}`);
    return err.cniCode;
  }
  assert.fail('no error');
}

describe('buildDelegateConfig', () => {
  it("builds flannel's default bridge config, keys sorted as Go writes them", () => {
    const d = build({ cniVersion: '1.0.0', name: 'cbr0', type: 'flannel' });
    assert.equal(
      JSON.stringify(d),
      '{"cniVersion":"1.0.0","ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.23.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}',
    );
  });

  it('sets ipMasq to the opposite of FLANNEL_IPMASQ', () => {
    const d = build({ name: 'n' }, V4.replace('FLANNEL_IPMASQ=true', 'FLANNEL_IPMASQ=false'));
    assert.equal(d.ipMasq, true);
  });

  it('keeps what the delegate section sets: type, ipMasq, mtu, isGateway and other keys', () => {
    const d = build({ name: 'n', delegate: { type: 'bridge', ipMasq: true, mtu: 1400, isGateway: false, bridge: 'mybr', hairpinMode: true } });
    assert.equal(d.ipMasq, true);
    assert.equal(d.mtu, 1400);
    assert.equal(d.isGateway, false);
    assert.equal(d.bridge, 'mybr');
    assert.equal(d.hairpinMode, true);
  });

  it('sets isGateway only for bridge', () => {
    const d = build({ name: 'n', delegate: { type: 'ipvlan', master: 'eth0' } });
    assert.equal(d.type, 'ipvlan');
    assert.equal('isGateway' in d, false);
    assert.equal(d.mtu, 1450);
  });

  it('passes cniVersion on only when the config has one', () => {
    assert.equal('cniVersion' in build({ name: 'n' }), false);
    assert.equal(build({ name: 'n', cniVersion: '0.3.1' }).cniVersion, '0.3.1');
    assert.equal(build({ name: 'n', delegate: { cniVersion: '0.4.0' } }).cniVersion, '0.4.0');
  });

  it('uses the given ipam section: type kept, other keys kept, ranges replaced, routes appended', () => {
    const d = build({
      name: 'n',
      ipam: { type: 'my-ipam', dataDir: '/tmp/x', ranges: [[{ subnet: '1.2.3.0/24' }]], routes: [{ dst: '192.168.0.0/16', gw: '10.244.23.254' }] },
    });
    assert.deepEqual(d.ipam, {
      dataDir: '/tmp/x',
      ranges: [[{ subnet: '10.244.23.0/24' }]],
      routes: [{ dst: '192.168.0.0/16', gw: '10.244.23.254' }, { dst: '10.244.0.0/16' }],
      type: 'my-ipam',
    });
  });

  it('builds one range set per family and a route per cluster network for dual stack', () => {
    const d = build({ name: 'n' }, DUAL);
    assert.deepEqual(d.ipam, {
      ranges: [[{ subnet: '10.244.23.0/24' }], [{ subnet: 'fc00:5:0:17::/64' }]],
      routes: [{ dst: '10.244.0.0/16' }, { dst: 'fc00:5::/48' }],
      type: 'host-local',
    });
  });

  it('handles IPv6 only', () => {
    const env = 'FLANNEL_IPV6_NETWORK=fc00:5::/48\nFLANNEL_IPV6_SUBNET=fc00:5:0:17::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n';
    const d = build({ name: 'n' }, env);
    assert.deepEqual((d.ipam as Record<string, unknown>).ranges, [[{ subnet: 'fc00:5:0:17::/64' }]]);
    assert.deepEqual((d.ipam as Record<string, unknown>).routes, [{ dst: 'fc00:5::/48' }]);
    assert.equal(d.mtu, 1430);
  });

  it('adds a route for each of several cluster networks, duplicates dropped', () => {
    const d = build({ name: 'n' }, V4.replace('FLANNEL_NETWORK=10.244.0.0/16', 'FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16,10.244.0.0/16'));
    assert.deepEqual((d.ipam as Record<string, unknown>).routes, [{ dst: '10.244.0.0/16' }, { dst: '10.245.0.0/16' }]);
  });

  it('copies runtimeConfig into the delegate, over its own', () => {
    const d = build({ name: 'n', runtimeConfig: { portMappings: [{ hostPort: 8080 }] }, delegate: { runtimeConfig: { x: 1 } } });
    assert.deepEqual(d.runtimeConfig, { portMappings: [{ hostPort: 8080 }] });
  });

  it('refuses a delegate with name, ipam or a non-string type (error 7)', () => {
    assert.equal(cniCode(() => build({ name: 'n', delegate: { name: 'x' } })), 7);
    assert.equal(cniCode(() => build({ name: 'n', delegate: { ipam: {} } })), 7);
    assert.equal(cniCode(() => build({ name: 'n', delegate: { type: 3 } })), 7);
  });

  it('refuses malformed ipam.routes (error 7)', () => {
    assert.equal(cniCode(() => build({ name: 'n', ipam: { routes: 'x' } })), 7);
    assert.equal(cniCode(() => build({ name: 'n', ipam: { routes: [{ dst: 'nope' }] } })), 7);
    assert.equal(cniCode(() => build({ name: 'n', ipam: { routes: [{ dst: '1.2.3.0/24', gw: 'x' }] } })), 7);
    assert.deepEqual((build({ name: 'n', ipam: { routes: null } }).ipam as Record<string, unknown>).routes, [{ dst: '10.244.0.0/16' }]);
  });

  it('does not modify the parsed config', () => {
    const conf = parseNetConf(JSON.stringify({ name: 'n', ipam: { type: 'host-local' }, delegate: { bridge: 'b' } }));
    buildDelegateConfig(conf, parseSubnetFacts(V4, 'x'));
    assert.deepEqual(conf.ipam, { type: 'host-local' });
    assert.deepEqual(conf.delegate, { bridge: 'b' });
  });
});

describe('sortKeysDeep', () => {
  it('sorts object keys at every level and keeps arrays in order', () => {
    assert.equal(JSON.stringify(sortKeysDeep({ b: [{ z: 1, a: 2 }], a: { d: 1, c: 2 } })), '{"a":{"c":2,"d":1},"b":[{"a":2,"z":1}]}');
  });
});
