import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipsecLeaseAttrs, parseIpsecConfig } from '../../../../src/backend/ipsec/ipsec-config.js';
import { ConfigError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { encodeLeaseAttrs } from '../../../../src/lease/lease.js';

const PSK = 'k'.repeat(96);

function expectPskError(raw: Record<string, unknown>, secret?: string): ConfigError {
  let caught: unknown;
  try {
    parseIpsecConfig(raw);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.field, 'Backend.PSK');
  assert.ok(caught.message.includes('PSK'), caught.message);
  if (secret !== undefined) assert.ok(!caught.message.includes(secret), `echoes the PSK: ${caught.message}`);
  return caught;
}

describe('ipsec backend options', () => {
  it("has flannel's defaults", () => {
    const c = parseIpsecConfig({ Type: 'ipsec', PSK });
    assert.deepEqual({ ...c }, { psk: PSK, udpEncap: false, espProposal: 'aes128gcm16-sha256-prfsha256-ecp256' });
  });

  it('takes every option', () => {
    const c = parseIpsecConfig({ Type: 'ipsec', PSK, UDPEncap: true, ESPProposal: 'aes256gcm16-modp2048' });
    assert.deepEqual({ ...c }, { psk: PSK, udpEncap: true, espProposal: 'aes256gcm16-modp2048' });
  });

  it('requires a PSK', () => {
    assert.match(expectPskError({ Type: 'ipsec' }).message, /required/);
    expectPskError({ Type: 'ipsec', PSK: '' });
    expectPskError({ Type: 'ipsec', PSK: 42 });
  });

  it('refuses a PSK shorter than 96 characters without echoing it', () => {
    const short = 'secret-'.repeat(13).slice(0, 95);
    const err = expectPskError({ Type: 'ipsec', PSK: short }, short);
    assert.match(err.message, /96/);
    assert.ok(!err.message.includes('secret-'), err.message);
  });

  it('counts UTF-8 bytes as flannel does', () => {
    // 48 two-byte characters are 96 bytes: flannel (Go len) accepts them.
    assert.equal(parseIpsecConfig({ PSK: 'é'.repeat(48) }).psk.length, 48);
    expectPskError({ PSK: 'é'.repeat(47) + 'a' });
  });

  it('checks UDPEncap and ESPProposal types', () => {
    assert.throws(() => parseIpsecConfig({ PSK, UDPEncap: 'yes' }), (e: unknown) => e instanceof ConfigError && e.field === 'Backend.UDPEncap');
    assert.throws(() => parseIpsecConfig({ PSK, ESPProposal: 5 }), (e: unknown) => e instanceof ConfigError && e.field === 'Backend.ESPProposal');
    assert.throws(() => parseIpsecConfig({ PSK, ESPProposal: ' ' }), (e: unknown) => e instanceof ConfigError && e.field === 'Backend.ESPProposal');
  });

  it('leases as flannel: BackendType ipsec, no BackendData', () => {
    const ip = IPAddress.parse('192.0.2.7');
    assert.deepEqual(ipsecLeaseAttrs(ip), { publicIP: ip, publicIPv6: undefined, backendType: 'ipsec', backendData: undefined, backendV6Data: undefined });
    // The bytes flannel's etcd registry holds for an ipsec lease (BackendData nil, omitempty).
    assert.equal(encodeLeaseAttrs(ipsecLeaseAttrs(ip)), '{"PublicIP":"192.0.2.7","PublicIPv6":null,"BackendType":"ipsec"}');
  });
});
