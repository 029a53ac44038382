import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireguardDevice, type WgImplementations } from '../../../../src/backend/wireguard/wireguard-device.js';
import { KernelError } from '../../../../src/errors.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import { kernelError } from '../../../../src/kernel/kernel-errors.js';
import type { KernelOps } from '../../../../src/kernel/kernel-ops.js';
import type { Link } from '../../../../src/kernel/link.js';
import type { Route } from '../../../../src/kernel/route.js';
import type { WgControl, WgDeviceSet } from '../../../../src/kernel/wg-types.js';
import { createLogger } from '../../../../src/log/logger.js';

const EOPNOTSUPP = 95;
const KEYS = { privateKey: Buffer.alloc(32, 1), publicKey: Buffer.alloc(32, 2) };

/** Just the links, addresses and routes a device touches, in memory. */
function fakeKernel(opts: { wireguard: boolean }) {
  const links = new Map<string, Link>();
  const routes: Route[] = [];
  const addresses: string[] = [];
  let next = 10;
  const add = (name: string, kind: string, mtu = 1420) => {
    const l: Link = { index: next++, name, type: 65534, flags: 0, up: false, mtu, kind };
    links.set(name, l);
    return l;
  };
  const k = {
    addLink: async (spec: { name: string; kind: string; mtu?: number }) => {
      if (links.has(spec.name)) throw kernelError('add link', spec.name, 17);
      if (!opts.wireguard) throw new KernelError('add link', spec.name, EOPNOTSUPP, 'EOPNOTSUPP');
      return add(spec.name, spec.kind, spec.mtu);
    },
    linkByName: async (name: string) => {
      const l = links.get(name);
      if (!l) throw kernelError('get link', name, 19);
      return { ...l };
    },
    deleteLink: async (name: string) => {
      links.delete(name);
    },
    setLinkMtu: async (index: number, mtu: number) => {
      for (const l of links.values()) if (l.index === index) l.mtu = mtu;
    },
    setLinkUp: async (index: number) => {
      for (const l of links.values()) if (l.index === index) l.up = true;
    },
    listAddresses: async () => [],
    ensureAddress: async (a: { ip: { toString(): string }; prefixLength: number }) => {
      addresses.push(`${a.ip.toString()}/${a.prefixLength}`);
    },
    deleteAddress: async () => {},
    listRoutes: async () => routes.slice(),
    replaceRoutes: async (rs: readonly Route[]) => {
      routes.push(...rs);
    },
  };
  return { kernel: k as unknown as KernelOps, links, routes, addresses, add };
}

function fakeControl(impl: 'kernel' | 'userspace'): WgControl & { sets: WgDeviceSet[]; dead: boolean } {
  const c = {
    implementation: impl,
    sets: [] as WgDeviceSet[],
    dead: false,
    get: async () => {
      if (c.dead) throw new Error('no answer');
      const last = c.sets.at(-1);
      return { privateKey: last?.privateKey, publicKey: undefined, listenPort: last?.listenPort ?? 0, fwmark: 0, peers: [] };
    },
    set: async (s: WgDeviceSet) => {
      c.sets.push(s);
    },
  };
  return c;
}

function impls(fk: ReturnType<typeof fakeKernel>, adopt?: WgControl) {
  const calls = { kernel: 0, start: 0 };
  const controls: ReturnType<typeof fakeControl>[] = [];
  const i: WgImplementations = {
    kernel: () => {
      calls.kernel++;
      const c = fakeControl('kernel');
      controls.push(c);
      return c;
    },
    adoptUserspace: async () => adopt,
    startUserspace: async (name) => {
      calls.start++;
      fk.add(name, 'tun');
      const c = fakeControl('userspace');
      controls.push(c);
      return c;
    },
    describeUserspace: async () => 'wireguard-go (test)',
  };
  return { i, calls, controls };
}

function logLines() {
  const lines: string[] = [];
  return { log: createLogger({ sink: { write: (l) => lines.push(l) } }), lines };
}

const NET = IPNetwork.parse('10.5.0.0/16');
const ADDR = IPNetwork.parse('10.5.3.0/32');

describe('wireguard device', () => {
  it('falls back to wireguard-go when the kernel refuses the wireguard link, and says so', async () => {
    const fk = fakeKernel({ wireguard: false });
    const { i, calls, controls } = impls(fk);
    const { log, lines } = logLines();
    const dev = new WireguardDevice(fk.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, i, log);
    await dev.create(AbortSignal.timeout(2000));
    await dev.configure([ADDR], [NET], AbortSignal.timeout(2000));
    assert.equal(dev.implementation, 'userspace');
    assert.deepEqual(calls, { kernel: 0, start: 1 });
    assert.ok(lines.some((l) => /the kernel has no WireGuard .*EOPNOTSUPP.*using wireguard-go \(test\) \(userspace\)/.test(l)), lines.join(''));
    assert.deepEqual(controls[0]?.sets[0], { privateKey: KEYS.privateKey, listenPort: 51820 });
    assert.ok(!lines.join('').includes(KEYS.privateKey.toString('base64')), 'the private key is never logged');
    assert.deepEqual(fk.addresses, ['10.5.3.0/32']);
    assert.deepEqual(fk.routes.map((r) => `${r.dst.toString()} dev #${r.linkIndex}`), [`10.5.0.0/16 dev #${dev.index}`]);
    assert.equal(fk.links.get('flannel-wg')?.up, true);
  });

  it('uses kernel WireGuard when the kernel accepts the link', async () => {
    const fk = fakeKernel({ wireguard: true });
    const { i, calls } = impls(fk);
    const dev = new WireguardDevice(fk.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, i, logLines().log);
    await dev.create(AbortSignal.timeout(2000));
    assert.equal(dev.implementation, 'kernel');
    assert.deepEqual(calls, { kernel: 1, start: 0 });
    assert.equal(fk.links.get('flannel-wg')?.kind, 'wireguard');
  });

  it('adopts a running wireguard-go device on restart, without starting another', async () => {
    const fk = fakeKernel({ wireguard: false });
    fk.add('flannel-wg', 'tun');
    const running = fakeControl('userspace');
    await running.set({ privateKey: KEYS.privateKey, listenPort: 51820 });
    const { i, calls } = impls(fk, running);
    const dev = new WireguardDevice(fk.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, i, logLines().log);
    await dev.create(AbortSignal.timeout(2000));
    assert.equal(calls.start, 0);
    assert.equal(running.sets.length, 1, 'key and port already right: nothing set');
  });

  it('deletes a device it just made when the device refuses its key and port; discard() spares an adopted one', async () => {
    const fk = fakeKernel({ wireguard: false });
    const { i } = impls(fk);
    const failing: WgImplementations = {
      ...i,
      startUserspace: async (name, signal) => {
        const c = await i.startUserspace(name, signal);
        return { ...c, set: async () => Promise.reject(new Error('errno=-98')) };
      },
    };
    const dev = new WireguardDevice(fk.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, failing, logLines().log);
    await assert.rejects(dev.create(AbortSignal.timeout(2000)), /errno=-98/);
    assert.equal(fk.links.has('flannel-wg'), false, 'nothing half-made is left');

    const fk2 = fakeKernel({ wireguard: false });
    fk2.add('flannel-wg', 'tun');
    const running = fakeControl('userspace');
    await running.set({ privateKey: KEYS.privateKey, listenPort: 51820 });
    const adopted = new WireguardDevice(fk2.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, impls(fk2, running).i, logLines().log);
    await adopted.create(AbortSignal.timeout(2000));
    await adopted.discard();
    assert.equal(fk2.links.has('flannel-wg'), true, 'an adopted device stays');
  });

  it('replaces a device whose wireguard-go is gone, after a backoff', async () => {
    const fk = fakeKernel({ wireguard: false });
    const { i, calls, controls } = impls(fk);
    const { log, lines } = logLines();
    const dev = new WireguardDevice(fk.kernel, { name: 'flannel-wg', listenPort: 51820, mtu: 1420, keys: KEYS }, i, log);
    await dev.create(AbortSignal.timeout(5000));
    await dev.configure([ADDR], [NET], AbortSignal.timeout(5000));
    fk.links.delete('flannel-wg');
    (controls[0] as { dead: boolean }).dead = true;
    fk.routes.length = 0;
    await dev.ensure(AbortSignal.timeout(5000));
    assert.equal(calls.start, 2);
    assert.ok(lines.some((l) => /flannel-wg is gone \(wireguard-go ended\); re-creating it in \d+ ms/.test(l)), lines.join(''));
    assert.deepEqual(fk.routes.map((r) => r.dst.toString()), ['10.5.0.0/16'], 'the network route is back');
  });
});
