/**
 * flannel's GetStoredMacAddresses in kube mode: a vxlan device that has to be created takes the
 * VtepMAC the node's backend-data / backend-v6-data annotations already publish (so peers'
 * neighbour and FDB entries stay right after a reboot or a swap from Go flannel); a bad or
 * missing one is ignored; etcd mode has none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { VxlanBackend } from '../../../../src/backend/vxlan/vxlan-backend.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import type { KernelOps } from '../../../../src/kernel/kernel-ops.js';
import type { Link, VxlanSpec } from '../../../../src/kernel/link.js';
import { createLogger } from '../../../../src/log/logger.js';
import { annotationKeys, storedBackendData } from '../../../../src/subnet/kube/kube-annotations.js';
import type { StoredBackendData } from '../../../../src/subnet/subnet-manager.js';
import { KubeFixture, PREFIX } from '../../subnet/kube/kube-fixture.js';

const KEYS = annotationKeys('flannel.alpha.coreos.com');
const STOP = new Error('stop after the devices');

/** Runs VxlanBackend.registerNetwork up to the lease; returns the device specs and the log. */
async function devicesMade(stored: BackendContext['storedBackendData'], dual = false): Promise<{ specs: VxlanSpec[]; log: string[] }> {
  const specs: VxlanSpec[] = [];
  const log: string[] = [];
  const eth0: Link = { index: 2, name: 'eth0', type: 1, flags: 0, up: true, mtu: 1500 };
  const kernel = {
    linkByName: async () => eth0,
    ensureVxlan: async (spec: VxlanSpec) => {
      specs.push(spec);
      const link: Link = { index: 10 + specs.length, name: spec.name, type: 1, flags: 0, up: false, mtu: spec.mtu ?? 0, kind: 'vxlan', hardwareAddr: spec.hardwareAddr ?? '0e:2a:00:00:00:01' };
      return { link, created: true };
    },
  } as unknown as KernelOps;
  const conf = dual ? { EnableIPv6: true, IPv6Network: 'fc00:5::/48' } : {};
  const ctx: BackendContext = {
    config: validateNetworkConfig({ Network: '10.5.0.0/16', ...conf, Backend: { Type: 'vxlan' } }, { knownBackends: ['vxlan'] }),
    extIface: {
      name: 'eth0',
      mtu: 1500,
      ifaceAddr: IPAddress.parse('192.168.77.11'),
      ifaceV6Addr: dual ? IPAddress.parse('fd00:77::11') : undefined,
      extAddr: IPAddress.parse('192.168.77.11'),
      extV6Addr: dual ? IPAddress.parse('fd00:77::11') : undefined,
    },
    logger: createLogger({ sink: { write: (l) => log.push(l) } }),
    acquireLease: () => Promise.reject(STOP),
    kernel: () => kernel,
    resyncMs: 60_000,
    storedBackendData: stored,
  };
  await assert.rejects(new VxlanBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), (e) => e === STOP);
  return { specs, log };
}

const fromNode = (annotations: Record<string, string>) => (): Promise<StoredBackendData> => Promise.resolve(storedBackendData(annotations, KEYS));

describe('stored VtepMACs (kube mode)', () => {
  test("storedBackendData parses the node's backend-data and backend-v6-data as flannel writes them", () => {
    const a = {
      [`${PREFIX}backend-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:44:80"}',
      [`${PREFIX}backend-v6-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:44:81"}',
    };
    assert.deepEqual(storedBackendData(a, KEYS), { data: { VNI: 1, VtepMAC: '5a:9b:6c:cc:44:80' }, v6Data: { VNI: 1, VtepMAC: '5a:9b:6c:cc:44:81' } });
    assert.deepEqual(storedBackendData({ [`${PREFIX}backend-data`]: 'null' }, KEYS), { data: null, v6Data: undefined });
    assert.deepEqual(storedBackendData({ [`${PREFIX}backend-data`]: '{"VNI":1,"Vtep' }, KEYS), { data: undefined, v6Data: undefined });
    assert.deepEqual(storedBackendData({}, KEYS), { data: undefined, v6Data: undefined });
  });

  test('a created device takes the published MAC of its family (canonical), and says so', async () => {
    const { specs, log } = await devicesMade(
      fromNode({ [`${PREFIX}backend-data`]: '{"VNI":1,"VtepMAC":"5A:9B:6C:CC:44:80"}', [`${PREFIX}backend-v6-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:44:81"}' }),
      true,
    );
    assert.deepEqual(
      specs.map((s) => [s.name, s.hardwareAddr]),
      [
        ['flannel.1', '5a:9b:6c:cc:44:80'],
        ['flannel-v6.1', '5a:9b:6c:cc:44:81'],
      ],
    );
    assert.ok(log.some((l) => l.includes('flannel.1: MAC 5a:9b:6c:cc:44:80 from the stored backend data')));
  });

  test('no stored data (etcd), backend-data "null" (a host-gw node before) or another family only: the kernel picks the MAC, no warning', async () => {
    for (const stored of [undefined, fromNode({ [`${PREFIX}backend-data`]: 'null' }), fromNode({ [`${PREFIX}backend-v6-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:44:81"}' })]) {
      const { specs, log } = await devicesMade(stored);
      assert.deepEqual(
        specs.map((s) => s.hardwareAddr),
        [undefined],
      );
      assert.deepEqual(
        log.filter((l) => l.startsWith('W')),
        [],
      );
    }
  });

  test('an all-zero or multicast stored MAC is not used, with a warning naming it', async () => {
    for (const mac of ['00:00:00:00:00:00', '01:00:5e:00:00:01', 'not-a-mac']) {
      const { specs, log } = await devicesMade(fromNode({ [`${PREFIX}backend-data`]: `{"VNI":1,"VtepMAC":"${mac}"}` }));
      assert.equal(specs[0]?.hardwareAddr, undefined, mac);
      assert.ok(log.some((l) => l.startsWith('W') && l.includes("flannel.1: not reusing the stored backend data's MAC") && l.includes(mac)), log.join('\n'));
    }
  });
});

describe('KubeSubnetManager.storedBackendData', () => {
  let fx: KubeFixture;
  before(async () => (fx = await KubeFixture.start()));
  after(async () => fx.close());

  test("reads this node's annotations from the node list; nothing for a node without them", async () => {
    fx.server.store.create({
      name: 'go-node',
      podCIDR: '10.244.3.0/24',
      annotations: { [`${PREFIX}backend-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:44:80"}', [`${PREFIX}backend-type`]: 'vxlan' },
    });
    fx.server.store.create({ name: 'bare', podCIDR: '10.244.4.0/24' });
    const go = await fx.manager('go-node');
    assert.deepEqual(await go.storedBackendData(AbortSignal.timeout(5000)), { data: { VNI: 1, VtepMAC: '5a:9b:6c:cc:44:80' }, v6Data: undefined });
    const bare = await fx.manager('bare');
    assert.deepEqual(await bare.storedBackendData(AbortSignal.timeout(5000)), { data: undefined, v6Data: undefined });
  });
});
