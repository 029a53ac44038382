import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { WireguardBackend } from '../../../../src/backend/wireguard/wireguard-backend.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { ConfigError } from '../../../../src/errors.js';
import type { KernelOps } from '../../../../src/kernel/kernel-ops.js';
import { nullLogger } from '../../../../src/log/logger.js';

function ctx(backend: Record<string, unknown>): BackendContext {
  const config = validateNetworkConfig({ Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fc00:5::/48', Backend: { Type: 'wireguard', ...backend } });
  return {
    config,
    extIface: {} as BackendContext['extIface'],
    logger: nullLogger(),
    acquireLease: () => Promise.reject(new Error('not reached')),
    kernel: () => ({}) as KernelOps,
    resyncMs: 30_000,
  };
}

describe('wireguard backend start', () => {
  it('refuses one port for both devices of Mode separate (each binds both families) before writing a key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wgbe-'));
    try {
      const keyFile = join(dir, 'wgkey');
      const be = new WireguardBackend({ WIREGUARD_KEY_FILE: keyFile });
      const err = await be.registerNetwork(ctx({ ListenPort: 6000, ListenPortV6: 6000 }), AbortSignal.timeout(1000)).catch((e: unknown) => e);
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.field, 'Backend.ListenPortV6');
      assert.match(err.message, /ListenPortV6=6000: must differ from ListenPort/);
      assert.equal(existsSync(keyFile), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
