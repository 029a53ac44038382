/** `-cleanup` deletes flannel's devices of every backend by name and kind, and nothing else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCleanup } from '../../../src/daemon/cleanup.js';
import type { KernelOps } from '../../../src/kernel/kernel-ops.js';
import type { Link } from '../../../src/kernel/link.js';
import { createLogger } from '../../../src/log/logger.js';

test('cleanup deletes flannel.ipip and flannel0 (TUN) but not tunl0, nor devices of flannel names and another kind', async () => {
  const link = (index: number, name: string, kind: string | undefined): Link => ({ index, name, kind, type: 1, flags: 0, up: true, mtu: 1500 });
  const links = [
    link(2, 'eth0', undefined),
    link(3, 'flannel.1', 'vxlan'),
    link(4, 'flannel.ipip', 'ipip'),
    link(5, 'tunl0', 'ipip'),
    link(6, 'flannel.7', 'bridge'),
    link(7, 'flannel0', 'tun'),
    link(8, 'flannel1', 'veth'),
  ];
  const deleted: string[] = [];
  const kernel = {
    listLinks: async () => links,
    deleteLink: async (name: string) => {
      deleted.push(name);
    },
    listRoutes: async () => [],
    deleteRoutes: async () => {},
  } as unknown as KernelOps;
  const failures = await runCleanup(
    '/nonexistent/subnet.env',
    { kernel, cleanupTraffic: async () => {}, logger: createLogger({ sink: { write: () => {} } }) },
    AbortSignal.timeout(5000),
  );
  assert.equal(failures, 0);
  assert.deepEqual(deleted.sort(), ['flannel.1', 'flannel.ipip', 'flannel0']);
});
