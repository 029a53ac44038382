import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseNetworkConfig, type NetworkConfig } from '../../../src/config/network-config.js';
import { ConfigError } from '../../../src/errors.js';
import { parseExtensionConfig } from '../../../src/backend/extension/extension-config.js';
import { parseIpipConfig } from '../../../src/backend/ipip/ipip-config.js';
import { parseIpsecConfig } from '../../../src/backend/ipsec/ipsec-config.js';
import { parseUdpConfig } from '../../../src/backend/udp/udp-config.js';
import { parseVxlanConfig } from '../../../src/backend/vxlan/vxlan-config.js';
import { parseWireguardConfig } from '../../../src/backend/wireguard/wireguard-config.js';
import { anyJson, check, deepJsonText, expectTypedOrValue, mutatedText, withFieldReplaced } from './fuzz-settings.js';

const KNOWN = ['vxlan', 'host-gw', 'udp', 'alloc', 'wireguard', 'ipip', 'ipsec', 'extension'];
const FIELDS = ['Network', 'SubnetLen', 'SubnetMin', 'SubnetMax', 'EnableIPv4', 'EnableIPv6', 'IPv6Network', 'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax', 'EnableNFTables', 'Backend'];

/** A config flannel accepts: a v4 and/or v6 network of a usable size, maybe a subnet length, a backend. */
const validConfig: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    v4: fc.option(fc.tuple(fc.ipV4(), fc.integer({ min: 8, max: 26 }), fc.option(fc.integer({ min: 0, max: 4 }))), { nil: undefined }),
    v6: fc.option(fc.tuple(fc.ipV6(), fc.integer({ min: 16, max: 120 }), fc.option(fc.integer({ min: 0, max: 6 }))), { nil: undefined }),
    backend: fc.option(fc.record({ Type: fc.constantFrom(...KNOWN, 'VXLAN', 'Host-GW'), VNI: fc.integer({ min: 0, max: 0xffffff }) }, { requiredKeys: ['Type'] }), { nil: undefined }),
    nft: fc.option(fc.boolean(), { nil: undefined }),
  })
  .filter((r) => r.v4 !== undefined || r.v6 !== undefined)
  .map(({ v4, v6, backend, nft }) => {
    const out: Record<string, unknown> = {};
    if (v4) {
      out['Network'] = `${v4[0]}/${v4[1]}`;
      if (v4[2] !== null) out['SubnetLen'] = Math.min(30, v4[1] + 2 + v4[2]);
    } else out['EnableIPv4'] = false;
    if (v6) {
      out['EnableIPv6'] = true;
      out['IPv6Network'] = `${v6[0]}/${v6[1]}`;
      if (v6[2] !== null) out['IPv6SubnetLen'] = Math.min(126, v6[1] + 2 + v6[2]);
    }
    if (backend) out['Backend'] = backend;
    if (nft !== undefined) out['EnableNFTables'] = nft;
    return out;
  });

/** The config as JSON again, from what was parsed (every default made explicit). */
function render(c: NetworkConfig): string {
  return JSON.stringify({
    EnableIPv4: c.enableIPv4,
    EnableIPv6: c.enableIPv6,
    Network: c.enableIPv4 ? c.network?.toString() : undefined,
    SubnetLen: c.enableIPv4 ? c.subnetLen : undefined,
    SubnetMin: c.subnetMin?.toString(),
    SubnetMax: c.subnetMax?.toString(),
    IPv6Network: c.enableIPv6 ? c.ipv6Network?.toString() : undefined,
    IPv6SubnetLen: c.enableIPv6 ? c.ipv6SubnetLen : undefined,
    IPv6SubnetMin: c.ipv6SubnetMin?.toString(),
    IPv6SubnetMax: c.ipv6SubnetMax?.toString(),
    EnableNFTables: c.enableNFTables,
    Backend: c.backend,
  });
}

function facts(c: NetworkConfig): unknown {
  return JSON.parse(render(c));
}

/** Parses; a ConfigError must name its field in the message; nothing else may be thrown. */
function parse(text: string): NetworkConfig | Error {
  return expectTypedOrValue(() => parseNetworkConfig(text, { knownBackends: KNOWN }), { typed: ConfigError, field: (e) => (e as ConfigError).field });
}

describe('fuzz: network config (etcd <prefix>/config, net-conf.json)', () => {
  it('valid configs parse, and render → parse gives the same config', () => {
    check(
      fc.property(validConfig, (raw) => {
        const c = parse(JSON.stringify(raw));
        if (c instanceof Error) return; // e.g. a v6 network too small for its subnets: a named field
        const again = parse(render(c));
        assert.ok(!(again instanceof Error), `re-parse failed: ${String(again)}`);
        assert.deepEqual(facts(again), facts(c));
      }),
    );
  });

  it('any text: a config or a ConfigError naming the field', () => {
    check(fc.property(mutatedText(validConfig.map((r) => JSON.stringify(r))), (text) => void parse(text)));
    check(fc.property(fc.string({ unit: 'binary' }), (text) => void parse(text)), 0.5);
    check(fc.property(deepJsonText, (text) => void parse(text)), 0.05);
  });

  it('one field of a valid config replaced by anything (wrong types, huge numbers, __proto__)', () => {
    check(fc.property(withFieldReplaced(validConfig, FIELDS), (raw) => void parse(JSON.stringify(raw))));
    check(fc.property(anyJson, (raw) => void parse(JSON.stringify(raw) ?? 'null')), 0.5);
  });

  it('a prototype-polluting key changes nothing outside the config', () => {
    check(
      fc.property(validConfig, anyJson, (raw, value) => {
        const text = JSON.stringify(raw).replace(/^\{/, `{"__proto__":${JSON.stringify(value) ?? 'null'},"Backend":{"__proto__":{"Type":"udp"}},`);
        const c = parse(text);
        assert.equal(({} as Record<string, unknown>)['Type'], undefined);
        if (!(c instanceof Error) && raw['Backend'] === undefined) assert.equal(c.backendType, 'vxlan');
      }),
      0.3,
    );
  });

  it('backend options: each parser returns options or a ConfigError naming Backend.<Field>', () => {
    const backendFields = ['Type', 'VNI', 'Port', 'GBP', 'Learning', 'DirectRouting', 'MTU', 'MacPrefix', 'ListenPort', 'ListenPortV6', 'PSK', 'PersistentKeepaliveInterval', 'Mode', 'UDPEncap', 'ESPProposal', 'PreStartupCommand', 'PostStartupCommand', 'SubnetAddCommand', 'SubnetRemoveCommand'];
    const base = parseNetworkConfig('{"Network":"10.244.0.0/16"}');
    const parsers: ((raw: Record<string, unknown>) => unknown)[] = [
      parseVxlanConfig,
      parseWireguardConfig,
      parseIpsecConfig,
      parseExtensionConfig,
      (raw) => parseUdpConfig({ ...base, backend: raw }),
      (raw) => parseIpipConfig({ ...base, backend: raw }),
    ];
    check(
      fc.property(withFieldReplaced(fc.constant({ Type: 'vxlan' }), backendFields), fc.constantFrom(...parsers.keys()), (raw, i) => {
        expectTypedOrValue(() => parsers[i]!(raw), { typed: ConfigError, field: (e) => (e as ConfigError).field });
      }),
    );
  });
});
