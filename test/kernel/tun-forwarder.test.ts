/**
 * The udp backend's native forwarder (native/tun) against a real kernel, in a fresh network
 * namespace: TUN to UDP by longest prefix with the TTL decremented and the checksum kept right,
 * routes deleted, UDP to TUN delivered, TTL expiry and garbage dropped and counted, the device
 * gone on close. Needs root and the built addon.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNamespace, deleteNamespace, kernelTestSkipReason } from './fixtures/netns.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/tun-child.js', import.meta.url));
const ADDON = fileURLToPath(new URL('../../native/tun.node', import.meta.url));
const skip = kernelTestSkipReason() ?? (existsSync(ADDON) ? undefined : `the TUN addon is not built (${ADDON}): make -C native`);

describe('TUN forwarder (native addon) in a fresh netns', { skip }, () => {
  let ns = '';
  before(async () => {
    ns = await createNamespace();
  });
  after(async () => {
    await deleteNamespace(ns);
  });

  test('forwards both ways by longest prefix, counts what it drops, and the device goes on close', async () => {
    const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, CHILD], { timeout: 20_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    assert.equal(out.name, 'flannel0');
    assert.deepEqual(out.toA, { dst: '10.5.2.7', ttl: 63, checksumOk: true, udpChecksumOk: true, payload: 'hello' });
    assert.equal(out.toB, '10.5.3.1');
    assert.equal(out.deleted, false, 'no such route');
    assert.equal(out.deletedAgain, true);
    assert.equal(out.afterDelete, '10.5.2.7', 'the /16 takes over');
    assert.equal(out.delivered, 'from-peer');
    assert.equal(out.lateDelivery, undefined);
    const s = out.stats as Record<string, number>;
    assert.equal(s.udpSent, 3);
    assert.equal(s.udpReceived, 3);
    assert.equal(s.tunWritten, 1);
    assert.equal(s.droppedTtl, 1);
    assert.ok((s.droppedMalformed ?? 0) >= 1, `droppedMalformed ${s.droppedMalformed}`);
    assert.equal(s.routes, 1);
    assert.equal(out.closedRunning, false);
    assert.equal(out.linksAfterClose, false, 'the TUN device is gone with its descriptor');
  });
});
