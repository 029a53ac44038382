/**
 * The kernel layer against a real kernel. Each test makes a fresh network namespace
 * (`ftk-<pid>-<random>`) with a veth underlay, runs a scenario of fixtures/kernel-child.js
 * inside it (`ip netns exec`), checks the result and, independently, what `ip`/`bridge` see.
 * Needs root; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import {
  addUnderlay,
  createNamespace,
  deleteNamespace,
  deleteStaleNamespaces,
  ip,
  kernelTestSkipReason,
  runScenario,
} from './fixtures/netns.js';

const run = promisify(execFile);
const skip = kernelTestSkipReason();

interface ErrorJson {
  class: string;
  code: string;
  errno?: number;
  errnoName: string;
  object?: string;
  message: string;
  failures?: ErrorJson[];
}

describe('kernel layer (rtnetlink, in a fresh netns per test)', { skip }, () => {
  const namespaces: string[] = [];

  before(async () => {
    await deleteStaleNamespaces();
  });

  after(async () => {
    for (const ns of namespaces) await deleteNamespace(ns);
  });

  async function freshNamespace(): Promise<string> {
    const ns = await createNamespace();
    namespaces.push(ns);
    await addUnderlay(ns);
    return ns;
  }

  test('creates a vxlan device with id, port, local, dev, nolearning, gbp, MAC and MTU', async () => {
    const ns = await freshNamespace();
    const r = await runScenario<{
      link: { name: string; up: boolean; mtu: number; hardwareAddr: string; kind: string; vxlan: Record<string, unknown> };
      u0Index: number;
      addresses: { ip: string; prefixLength: number }[];
    }>(ns, 'vxlan');
    assert.equal(r.link.kind, 'vxlan');
    assert.equal(r.link.mtu, 1450);
    assert.equal(r.link.hardwareAddr, '5a:9b:6c:cc:33:80');
    assert.equal(r.link.up, true);
    assert.deepEqual(
      { ...r.link.vxlan },
      { vni: 1, port: 8472, local: '192.168.77.11', deviceIndex: r.u0Index, learning: false, gbp: true, l2miss: false, l3miss: false },
    );
    assert.ok(r.addresses.some((a) => a.ip === '10.244.1.0' && a.prefixLength === 32));

    // What iproute2 sees.
    const [shown] = JSON.parse(await ip(['-n', ns, '-j', '-d', 'link', 'show', 'flannel.1'])) as {
      mtu: number;
      address: string;
      flags: string[];
      linkinfo: { info_kind: string; info_data: Record<string, unknown> };
    }[];
    assert.ok(shown);
    assert.equal(shown.mtu, 1450);
    assert.equal(shown.address, '5a:9b:6c:cc:33:80');
    assert.ok(shown.flags.includes('UP'));
    assert.equal(shown.linkinfo.info_kind, 'vxlan');
    const d = shown.linkinfo.info_data;
    assert.deepEqual([d.id, d.port, d.local, d.link, d.learning, d.gbp], [1, 8472, '192.168.77.11', 'u0', false, true]);
    assert.match(await ip(['-n', ns, '-4', 'addr', 'show', 'dev', 'flannel.1']), /inet 10\.244\.1\.0\/32 /);
  });

  test('pipelines 5,000 routes, neighbours and FDB entries and dumps them back', async (t: TestContext) => {
    const ns = await freshNamespace();
    const r = await runScenario<{
      timings: Record<string, number>;
      counts: { routes: number; neighbors: number; fdb: number };
      sample: { route: Record<string, unknown>; neighbor: Record<string, unknown>; fdb: Record<string, unknown> };
      routesLeftAfterDelete: number;
    }>(ns, 'bulk', 40_000);
    const line = Object.entries(r.timings)
      .map(([k, v]) => `${k}=${v}ms`)
      .join(' ');
    t.diagnostic(`5000 objects each: ${line}`);
    console.log(`kernel bulk timings (5000 each): ${line}`);
    assert.deepEqual(r.counts, { routes: 5000, neighbors: 5000, fdb: 5000 });
    assert.deepEqual(
      { dst: r.sample.route.dst, gateway: r.sample.route.gateway, onlink: r.sample.route.onlink },
      { dst: '10.68.210.0/24', gateway: '10.68.210.0', onlink: true },
    );
    assert.deepEqual(
      { ip: r.sample.neighbor.ip, mac: r.sample.neighbor.hardwareAddr, state: r.sample.neighbor.state },
      { ip: '10.68.210.0', mac: '0a:58:00:00:04:d2', state: 0x80 },
    );
    assert.deepEqual({ mac: r.sample.fdb.hardwareAddr, dst: r.sample.fdb.dst }, { mac: '0a:58:00:00:04:d2', dst: '192.168.5.210' });
    // deleteRoutes removed the first 2,500 (2,501 left: 2,500 + the IPv6 link-local route).
    assert.equal(r.routesLeftAfterDelete, 2501);

    // What iproute2 sees.
    const routes = (await ip(['-n', ns, '-4', 'route', 'show', 'dev', 'flannel.1'])).trim().split('\n');
    assert.equal(routes.length, 2500);
    // The last one, 10.64.0.0 + 4999 * 256, is among those kept.
    assert.ok(routes.some((l) => l.startsWith('10.83.135.0/24 via 10.83.135.0 ') && l.includes('onlink')));
    const neigh = (await ip(['-n', ns, 'neigh', 'show', 'dev', 'flannel.1', 'nud', 'permanent'])).trim().split('\n');
    assert.equal(neigh.length, 5000);
    const { stdout: fdb } = await run('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1'], { timeout: 10_000, maxBuffer: 16 << 20 });
    const withDst = fdb.split('\n').filter((l) => l.includes(' dst '));
    assert.equal(withDst.length, 5000);
    assert.ok(withDst.some((l) => l.startsWith('0a:58:00:00:04:d2 dst 192.168.5.210 ') && l.includes('self permanent')));
  });

  test('ensure twice and delete twice are idempotent; not-found deletes succeed', async () => {
    const ns = await freshNamespace();
    const r = await runScenario<{
      created: boolean[];
      sameIndex: boolean;
      counts: Record<string, number>;
      after: Record<string, number>;
      recreated: { created: boolean; because: string; vni: number };
      lookup: ErrorJson;
      linksLeft: string[];
    }>(ns, 'idempotent');
    assert.deepEqual(r.created, [true, false]);
    assert.equal(r.sameIndex, true);
    // One IPv4 address plus the IPv6 link-local; 3 routes plus fe80::/64.
    assert.deepEqual(r.counts, { addresses: 2, routes: 4, neighbors: 3, fdb: 3 });
    assert.deepEqual(r.after, { addresses: 1, routes: 1, neighbors: 0, fdb: 0 });
    assert.deepEqual(r.recreated, { created: true, because: 'vni: 2 vs 1', vni: 2 });
    assert.equal(r.lookup.class, 'KernelNotFoundError');
    assert.equal(r.lookup.errnoName, 'ENODEV');
    assert.equal(r.lookup.object, 'no-such-link');
    assert.ok(!r.linksLeft.includes('flannel.1'));
  });

  test('a route via a gateway that is not on-link fails with ENETUNREACH naming the route', async () => {
    const ns = await freshNamespace();
    const r = await runScenario<{ batch: ErrorJson; onlinkInstalled: number }>(ns, 'unreachable');
    assert.equal(r.batch.class, 'KernelBatchError');
    assert.equal(r.batch.errnoName, 'ENETUNREACH');
    assert.equal(r.batch.failures?.length, 1);
    const [failure] = r.batch.failures ?? [];
    assert.equal(failure?.class, 'KernelError');
    assert.equal(failure?.errno, 101);
    assert.equal(failure?.errnoName, 'ENETUNREACH');
    assert.match(failure?.object ?? '', /^10\.9\.0\.0\/24 via 10\.99\.0\.1 dev #\d+$/);
    assert.match(failure?.message ?? '', /^replace route 10\.9\.0\.0\/24 via 10\.99\.0\.1 dev #\d+: ENETUNREACH/);
    // The rest of the batch still went in.
    assert.equal(r.onlinkInstalled, 1);
  });

  test('an event subscription sees a route deleted with `ip route del`', async () => {
    const ns = await freshNamespace();
    const r = await runScenario<{ deleted: Record<string, unknown> | undefined; seen: string[] }>(ns, 'events');
    assert.ok(r.deleted, `no delete event; saw: ${r.seen.join(', ')}`);
    assert.deepEqual(
      { dst: r.deleted.dst, gateway: r.deleted.gateway, onlink: r.deleted.onlink },
      { dst: '10.64.0.0/24', gateway: '10.64.0.0', onlink: true },
    );
    assert.ok(r.seen.includes('new 10.64.0.0/24'));
  });

  test('lists interfaces, finds the default-route interface and looks routes up', async () => {
    const ns = await freshNamespace();
    const r = await runScenario<{
      u0Index: number;
      defaultLink: string;
      defaultGateway: string;
      lookup: { linkIndex: number; gateway: string; src: string };
      byAddr: string;
      interfaces: { name: string; mtu: number; addresses: string[] }[];
    }>(ns, 'interfaces');
    assert.equal(r.defaultLink, 'u0');
    assert.equal(r.defaultGateway, '192.168.77.1');
    assert.deepEqual(
      { linkIndex: r.lookup.linkIndex, gateway: r.lookup.gateway, src: r.lookup.src },
      { linkIndex: r.u0Index, gateway: '192.168.77.1', src: '192.168.77.11' },
    );
    assert.equal(r.byAddr, 'u0');
    const u0 = r.interfaces.find((i) => i.name === 'u0');
    assert.equal(u0?.mtu, 1500);
    assert.ok(u0?.addresses.includes('192.168.77.11/24'));
    assert.ok(r.interfaces.some((i) => i.name === 'lo' && i.addresses.includes('127.0.0.1/8')));
  });
});
