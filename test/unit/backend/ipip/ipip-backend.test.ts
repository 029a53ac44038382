/**
 * The ipip backend's set-up against an in-memory kernel: options, the device (local address,
 * MTU, /32 address, up) before the lease, Go flannel's lease value, and the errors: IPv6, a
 * kernel without ipip (no lease taken), an interface without IPv4.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { IpipBackend } from '../../../../src/backend/ipip/ipip-backend.js';
import { IpipUnsupportedError } from '../../../../src/backend/ipip/ipip-device.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { ConfigError, InterfaceError, KernelError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { AddressSpec, InterfaceAddress } from '../../../../src/kernel/address.js';
import type { IpipSpec } from '../../../../src/kernel/ipip-link.js';
import type { KernelOps } from '../../../../src/kernel/kernel-ops.js';
import type { Link } from '../../../../src/kernel/link.js';
import { encodeLeaseAttrs, type LeaseAttrs } from '../../../../src/lease/lease.js';
import { createLogger } from '../../../../src/log/logger.js';

interface FakeKernel {
  readonly kernel: KernelOps;
  readonly calls: string[];
  readonly addresses: InterfaceAddress[];
}

function fakeKernel(opts: { ipip?: 'ok' | 'unsupported'; existingAddr?: string } = {}): FakeKernel {
  const calls: string[] = [];
  const eth0: Link = { index: 2, name: 'eth0', type: 1, flags: 0, up: true, mtu: 1500 };
  let tun: Link | undefined;
  const addresses: InterfaceAddress[] = [];
  if (opts.existingAddr) addresses.push({ linkIndex: 7, ip: IPAddress.parse(opts.existingAddr), prefixLength: 32, scope: 0 } as InterfaceAddress);
  const kernel = {
    linkByName: async (name: string) => {
      if (name === 'eth0') return eth0;
      throw new Error(`no ${name}`);
    },
    linkByIndex: async (i: number) => (i === 2 ? eth0 : (tun as Link)),
    ensureIpip: async (spec: IpipSpec & { mtu?: number }) => {
      calls.push(`ensureIpip ${spec.name} local ${spec.local?.toString()} mtu ${spec.mtu}`);
      if (opts.ipip === 'unsupported') throw new KernelError('add link', spec.name, 95, 'ENOTSUP');
      const created = tun === undefined;
      tun ??= { index: 7, name: spec.name, type: 768, flags: 0, up: false, mtu: spec.mtu ?? 0, kind: 'ipip' };
      return { link: { ...tun }, created };
    },
    listAddresses: async (f: { linkIndex?: number }) => addresses.filter((a) => a.linkIndex === f.linkIndex),
    deleteAddress: async (a: AddressSpec) => {
      calls.push(`deleteAddress ${a.ip.toString()}/${a.prefixLength} #${a.linkIndex}`);
      const at = addresses.findIndex((x) => x.linkIndex === a.linkIndex && x.ip.equals(a.ip));
      if (at >= 0) addresses.splice(at, 1);
    },
    ensureAddress: async (a: AddressSpec) => {
      calls.push(`ensureAddress ${a.ip.toString()}/${a.prefixLength} #${a.linkIndex}`);
      addresses.push({ linkIndex: a.linkIndex, ip: a.ip, prefixLength: a.prefixLength, scope: 0 } as InterfaceAddress);
    },
    setLinkUp: async (i: number) => {
      calls.push(`setLinkUp #${i}`);
      if (tun) tun.up = true;
    },
  };
  return { kernel: kernel as unknown as KernelOps, calls, addresses };
}

function context(k: FakeKernel, conf: Record<string, unknown>, iface: { v4?: boolean } = {}): BackendContext & { acquired: LeaseAttrs[] } {
  const acquired: LeaseAttrs[] = [];
  return {
    acquired,
    config: validateNetworkConfig({ Network: '10.5.0.0/16', ...conf, Backend: { Type: 'ipip', ...(conf.Backend as object) } }, { knownBackends: ['ipip'] }),
    extIface: {
      name: 'eth0',
      mtu: 1500,
      ifaceAddr: iface.v4 === false ? undefined : IPAddress.parse('192.168.77.11'),
      ifaceV6Addr: undefined,
      extAddr: IPAddress.parse('203.0.113.11'),
      extV6Addr: undefined,
    },
    logger: createLogger({ sink: { write: () => {} } }),
    acquireLease: async (attrs) => {
      k.calls.push('acquireLease');
      acquired.push(attrs);
      return { subnet: IPNetwork.parse('10.5.9.0/24'), ipv6Subnet: undefined, attrs, expiration: undefined };
    },
    kernel: () => k.kernel,
    resyncMs: 30_000,
  };
}

describe('ipip backend set-up', () => {
  test('device first (local = interface address, MTU - 20), then the lease, then the /32 address and up', async () => {
    const k = fakeKernel({ existingAddr: '10.5.200.0' });
    const ctx = context(k, {});
    const net = await new IpipBackend().registerNetwork(ctx, AbortSignal.timeout(5000));
    assert.deepEqual(k.calls, [
      'ensureIpip flannel.ipip local 192.168.77.11 mtu 1480',
      'acquireLease',
      'ensureIpip flannel.ipip local 192.168.77.11 mtu 1480',
      'deleteAddress 10.5.200.0/32 #7',
      'ensureAddress 10.5.9.0/32 #7',
      'setLinkUp #7',
      'ensureIpip flannel.ipip local 192.168.77.11 mtu 1480',
    ]);
    assert.equal(net.mtu, 1480);
    // Go flannel's value: -public-ip as PublicIP, no IPv6, type ipip, no BackendData.
    assert.equal(encodeLeaseAttrs(net.lease.attrs), '{"PublicIP":"203.0.113.11","PublicIPv6":null,"BackendType":"ipip"}');
  });

  test('DirectRouting must be a boolean; other fields are ignored as flannel does', async () => {
    await assert.rejects(
      new IpipBackend().registerNetwork(context(fakeKernel(), { Backend: { DirectRouting: 'yes' } }), AbortSignal.timeout(5000)),
      (err: unknown) => err instanceof ConfigError && /Backend\.DirectRouting="yes": must be true or false/.test(err.message),
    );
    await new IpipBackend().registerNetwork(context(fakeKernel(), { Backend: { DirectRouting: true, Whatever: 1 } }), AbortSignal.timeout(5000));
  });

  test('an IPv6 network is an error naming EnableIPv6; nothing is made', async () => {
    const k = fakeKernel();
    const ctx = context(k, { EnableIPv6: true, IPv6Network: 'fc00:5::/48' });
    await assert.rejects(new IpipBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^invalid network config: EnableIPv6=true: the ipip backend carries IPv4 only/);
      return true;
    });
    assert.deepEqual(k.calls, []);
  });

  test('a kernel without ipip: an error saying so, and no lease taken', async () => {
    const k = fakeKernel({ ipip: 'unsupported' });
    const ctx = context(k, {});
    await assert.rejects(new IpipBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), (err: unknown) => {
      assert.ok(err instanceof IpipUnsupportedError);
      assert.equal(err.code, 'ERR_IPIP_UNSUPPORTED');
      assert.match(err.message, /this kernel lacks ipip tunnel support/);
      return true;
    });
    assert.equal(ctx.acquired.length, 0);
  });

  test('an interface without IPv4 address is an interface error', async () => {
    await assert.rejects(new IpipBackend().registerNetwork(context(fakeKernel(), {}, { v4: false }), AbortSignal.timeout(5000)), InterfaceError);
  });
});
