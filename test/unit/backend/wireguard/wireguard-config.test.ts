import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWireguardConfig } from '../../../../src/backend/wireguard/wireguard-config.js';
import { ConfigError } from '../../../../src/errors.js';

function expectConfigError(raw: Record<string, unknown>, field: string, valueText: string): ConfigError {
  let caught: unknown;
  try {
    parseWireguardConfig(raw);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  assert.ok(caught.message.includes(field), `names the field: ${caught.message}`);
  assert.ok(caught.message.includes(valueText), `names the value ${valueText}: ${caught.message}`);
  return caught;
}

const PSK = Buffer.alloc(32, 7).toString('base64');

describe('wireguard backend options', () => {
  it("has flannel's defaults", () => {
    const c = parseWireguardConfig({ Type: 'wireguard' });
    assert.deepEqual(
      { ...c },
      { listenPort: 51820, listenPortV6: 51821, mtu: 0, psk: undefined, persistentKeepalive: 0, mode: 'separate' },
    );
  });

  it('takes every option', () => {
    const c = parseWireguardConfig({
      Type: 'wireguard',
      ListenPort: 4000,
      ListenPortV6: 4001,
      MTU: 9000,
      PSK,
      PersistentKeepaliveInterval: 25,
      Mode: 'auto',
    });
    assert.equal(c.listenPort, 4000);
    assert.equal(c.listenPortV6, 4001);
    assert.equal(c.mtu, 9000);
    assert.deepEqual(c.psk, Buffer.alloc(32, 7));
    assert.equal(c.persistentKeepalive, 25);
    assert.equal(c.mode, 'auto');
    for (const mode of ['separate', 'ipv4', 'ipv6']) assert.equal(parseWireguardConfig({ Mode: mode }).mode, mode);
  });

  it('rejects an unknown Mode, naming it', () => {
    expectConfigError({ Mode: 'both' }, 'Backend.Mode', '"both"');
    expectConfigError({ Mode: 4 }, 'Backend.Mode', '4');
  });

  it('rejects ports outside 1-65535', () => {
    expectConfigError({ ListenPort: 0 }, 'Backend.ListenPort', '0');
    expectConfigError({ ListenPort: 65536 }, 'Backend.ListenPort', '65536');
    expectConfigError({ ListenPortV6: -1 }, 'Backend.ListenPortV6', '-1');
    expectConfigError({ ListenPort: '51820' }, 'Backend.ListenPort', '"51820"');
    expectConfigError({ ListenPort: 1.5 }, 'Backend.ListenPort', '1.5');
  });

  it('rejects an MTU that leaves the device under 1280', () => {
    expectConfigError({ MTU: 1300 }, 'Backend.MTU', '1300');
    assert.equal(parseWireguardConfig({ MTU: 1360 }).mtu, 1360);
  });

  it('rejects a keepalive outside 0-65535 seconds', () => {
    expectConfigError({ PersistentKeepaliveInterval: -5 }, 'Backend.PersistentKeepaliveInterval', '-5');
    expectConfigError({ PersistentKeepaliveInterval: 70000 }, 'Backend.PersistentKeepaliveInterval', '70000');
  });

  it('rejects a PSK that is not a base64 32-byte key without echoing it', () => {
    const bad = Buffer.alloc(16, 1).toString('base64');
    const err = expectConfigError({ PSK: bad }, 'Backend.PSK', '24 characters');
    assert.ok(!err.message.includes(bad), `the PSK is not echoed: ${err.message}`);
    expectConfigError({ PSK: `${PSK.slice(0, -2)}!=` }, 'Backend.PSK', '44 characters');
    expectConfigError({ PSK: 12 }, 'Backend.PSK', '12');
    assert.equal(parseWireguardConfig({ PSK: '' }).psk, undefined);
  });
});
