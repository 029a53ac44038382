import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { forwardSpecs, masqSpecs } from '../../../src/traffic/traffic-spec.js';

const net = IPNetwork.parse;
const isConfigError = (field: string) => (err: unknown) => err instanceof ConfigError && err.field === field;

describe('traffic specs', () => {
  it('splits dual-stack masquerade options per family', () => {
    const specs = masqSpecs({
      network: net('10.244.0.0/16'),
      subnet: net('10.244.1.0/24'),
      ipv6Network: net('fd00::/56'),
      ipv6Subnet: net('fd00:0:0:1::/64'),
    });
    assert.deepEqual(
      specs.map((s) => [s.family, s.network.toString(), s.subnet.toString(), s.kubeProxyMark, s.randomFully]),
      [
        [4, '10.244.0.0/16', '10.244.1.0/24', 0x4000, undefined],
        [6, 'fd00::/56', 'fd00:0:0:1::/64', 0x4000, undefined],
      ],
    );
    assert.deepEqual(masqSpecs({}), []);
  });

  it('names the missing or mismatched field', () => {
    assert.throws(() => masqSpecs({ network: net('10.244.0.0/16') }), isConfigError('subnet'));
    assert.throws(() => masqSpecs({ ipv6Subnet: net('fd00::/64') }), isConfigError('ipv6Network'));
    assert.throws(() => masqSpecs({ network: net('fd00::/56'), subnet: net('fd00::/64') }), isConfigError('network'));
    assert.throws(() => masqSpecs({ network: net('10.0.0.0/8'), subnet: net('10.1.0.0/16'), kubeProxyMarkMasq: 0 }), isConfigError('kubeProxyMarkMasq'));
    assert.throws(() => forwardSpecs({ ipv6Network: net('10.0.0.0/8') }), isConfigError('ipv6Network'));
  });

  it('splits forward options per family', () => {
    assert.deepEqual(
      forwardSpecs({ network: net('10.244.0.0/16'), ipv6Network: net('fd00::/56') }).map((s) => [s.family, s.network.toString()]),
      [
        [4, '10.244.0.0/16'],
        [6, 'fd00::/56'],
      ],
    );
  });
});
