import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterfaceError } from '../../../src/errors.js';
import { createLogger, nullLogger } from '../../../src/log/logger.js';
import { selectExternalInterface, type SelectionOptions } from '../../../src/net/interface-selection.js';
import { FakeInterfaces, type FakeInterfaceOptions } from '../../fakes/fake-interfaces.js';

const HOST = [
  { name: 'lo', mtu: 65536, addresses: ['127.0.0.1', '::1'] },
  { name: 'eth0', mtu: 1500, addresses: ['fe80::1', '192.168.77.11', '2001:db8::11'] },
  { name: 'eth1', mtu: 9000, addresses: ['10.0.5.2', '10.0.6.2'] },
  { name: 'eth2', mtu: 1500, addresses: ['fe80::2'] },
  { name: 'wg0', mtu: 1420, addresses: ['fd00::5'] },
  { name: 'eth3', mtu: 0, addresses: ['10.0.9.2'] },
];
const ROUTES: FakeInterfaceOptions = {
  defaultRoute: { 4: 'eth0', 6: 'eth0' },
  routes: { '10.0.5.1': { iface: 'eth1', src: '10.0.5.2' }, 'fd00::1': { iface: 'wg0', src: 'fd00::5' } },
};

const V4: SelectionOptions = { ifaces: [], ifaceRegexes: [], enableIPv4: true, enableIPv6: false };

function select(opts: Partial<SelectionOptions>, routes: FakeInterfaceOptions = ROUTES, host = HOST) {
  return selectExternalInterface(new FakeInterfaces(host, routes), { ...V4, ...opts }, nullLogger());
}

async function summary(opts: Partial<SelectionOptions>, routes: FakeInterfaceOptions = ROUTES) {
  const e = await select(opts, routes);
  return [e.name, e.mtu, e.ifaceAddr?.toString(), e.ifaceV6Addr?.toString(), e.extAddr?.toString(), e.extV6Addr?.toString()];
}

async function rejects(opts: Partial<SelectionOptions>, pattern: RegExp, routes: FakeInterfaceOptions = ROUTES) {
  await assert.rejects(select(opts, routes), (err: unknown) => {
    assert.ok(err instanceof InterfaceError, String(err));
    assert.equal(err.code, 'ERR_INTERFACE');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('selectExternalInterface', () => {
  it('defaults to the interface of the default route, skipping link-local addresses', async () => {
    assert.deepEqual(await summary({}), ['eth0', 1500, '192.168.77.11', undefined, '192.168.77.11', undefined]);
  });

  it('-iface by name', async () => {
    assert.deepEqual(await summary({ ifaces: ['eth1'] }), ['eth1', 9000, '10.0.5.2', undefined, '10.0.5.2', undefined]);
  });

  it('-iface by address uses that address, not the first one', async () => {
    assert.deepEqual(await summary({ ifaces: ['10.0.6.2'] }), ['eth1', 9000, '10.0.6.2', undefined, '10.0.6.2', undefined]);
  });

  it('-iface entries are tried in order: missing names and addresses fall through', async () => {
    assert.equal((await select({ ifaces: ['nope0', '10.9.9.9', 'eth1', 'eth0'] })).name, 'eth1');
  });

  it('-iface: an interface without an IPv4 address falls through to the next, as in flanneld', async () => {
    assert.equal((await select({ ifaces: ['eth2', 'eth1'] })).name, 'eth1');
  });

  it('-iface: errors name what was tried and why', async () => {
    await rejects({ ifaces: ['nope0'] }, /-iface=nope0: no match/);
    await rejects({ ifaces: ['eth2'] }, /eth2 has no IPv4 address/);
    await rejects({ ifaces: ['eth3'] }, /eth3 reports no MTU/);
  });

  it('-iface-regex matches addresses first', async () => {
    // Matches the name eth0 and an address of eth1: the address wins.
    assert.deepEqual(await summary({ ifaceRegexes: ['^eth0$|^10\\.0\\.6\\.'] }), ['eth1', 9000, '10.0.6.2', undefined, '10.0.6.2', undefined]);
  });

  it('-iface-regex falls back to names', async () => {
    assert.deepEqual(await summary({ ifaceRegexes: ['^eth1$'] }), ['eth1', 9000, '10.0.5.2', undefined, '10.0.5.2', undefined]);
  });

  it('-iface-regex patterns are tried in order; an unusable match falls through', async () => {
    assert.equal((await select({ ifaceRegexes: ['^zz', '^eth2$', 'th1'] })).name, 'eth1');
    await rejects({ ifaceRegexes: ['^zz', '^eth2$'] }, /-iface-regex=\^zz: no match.*eth2 has no IPv4 address/);
  });

  it('-iface-regex: an invalid pattern is an InterfaceError naming it', async () => {
    await rejects({ ifaceRegexes: ['eth[0'] }, /-iface-regex=eth\[0: not a valid regular expression/);
  });

  it('-iface falls through to -iface-regex, then to -iface-can-reach, as in flanneld', async () => {
    assert.equal((await select({ ifaces: ['nope0'], ifaceRegexes: ['^eth0$'] })).name, 'eth0');
    const viaReach = await select({ ifaces: ['nope0'], ifaceRegexes: ['^zz'], ifaceCanReach: '10.0.5.1' });
    assert.equal(viaReach.name, 'eth1');
    await rejects({ ifaces: ['nope0'], ifaceRegexes: ['^zz'], ifaceCanReach: '10.7.7.7' }, /-iface=nope0.*-iface-regex=\^zz.*-iface-can-reach=10\.7\.7\.7/);
  });

  it('-iface-can-reach uses the route source address', async () => {
    const src = new FakeInterfaces(HOST, ROUTES);
    const e = await selectExternalInterface(src, { ...V4, ifaceCanReach: '10.0.5.1' }, nullLogger());
    assert.deepEqual([e.name, e.ifaceAddr?.toString()], ['eth1', '10.0.5.2']);
    assert.deepEqual(src.routeQueries, ['10.0.5.1']);
    await rejects({ ifaceCanReach: '10.7.7.7' }, /-iface-can-reach=10\.7\.7\.7: no match/);
    await rejects({ ifaceCanReach: 'not-an-ip' }, /-iface-can-reach=not-an-ip: not an IP address/);
  });

  it('-public-ip overrides the external address only', async () => {
    assert.deepEqual(await summary({ publicIP: '203.0.113.7' }), ['eth0', 1500, '192.168.77.11', undefined, '203.0.113.7', undefined]);
    assert.deepEqual(await summary({ ifaces: ['eth1'], publicIP: '203.0.113.7' }), ['eth1', 9000, '10.0.5.2', undefined, '203.0.113.7', undefined]);
  });

  it('-public-ip held by an interface selects that interface when nothing else is given, as in flanneld', async () => {
    assert.deepEqual(await summary({ publicIP: '10.0.6.2' }), ['eth1', 9000, '10.0.6.2', undefined, '10.0.6.2', undefined]);
  });

  it('-public-ip / -public-ipv6 must be addresses of their family', async () => {
    await rejects({ publicIP: 'fd00::9' }, /-public-ip=fd00::9: not an IPv4 address/);
    await rejects({ publicIP: '1.2.3' }, /-public-ip=1\.2\.3/);
    await rejects({ enableIPv4: false, enableIPv6: true, publicIPv6: '10.0.0.1' }, /-public-ipv6=10\.0\.0\.1: not an IPv6 address/);
  });

  it('IPv6 only: global address of the default IPv6 route interface', async () => {
    const o = { enableIPv4: false, enableIPv6: true };
    assert.deepEqual(await summary(o), ['eth0', 1500, undefined, '2001:db8::11', undefined, '2001:db8::11']);
    assert.deepEqual(await summary({ ...o, publicIPv6: '2001:db8::99', publicIP: '203.0.113.7' }), [
      'eth0',
      1500,
      undefined,
      '2001:db8::11',
      undefined,
      '2001:db8::99',
    ]);
    assert.deepEqual(await summary({ ...o, ifaceCanReach: 'fd00::1' }), ['wg0', 1420, undefined, 'fd00::5', undefined, 'fd00::5']);
    assert.deepEqual(await summary({ ...o, ifaceRegexes: ['^fd00:'] }), ['wg0', 1420, undefined, 'fd00::5', undefined, 'fd00::5']);
    await rejects({ ...o, ifaces: ['eth2'] }, /eth2 has no global IPv6 address/);
    await rejects(o, /no default IPv6 route/, { defaultRoute: { 4: 'eth0' } });
  });

  it('dual stack: both addresses from one interface', async () => {
    const o = { enableIPv4: true, enableIPv6: true };
    assert.deepEqual(await summary(o), ['eth0', 1500, '192.168.77.11', '2001:db8::11', '192.168.77.11', '2001:db8::11']);
    await rejects({ ...o, ifaces: ['eth1'] }, /eth1 has no global IPv6 address/);
  });

  it('errors: no default route, default route interface without IPv4, unknown default interface', async () => {
    await rejects({}, /no default IPv4 route/, {});
    await rejects({}, /eth2 has no IPv4 address/, { defaultRoute: { 4: 'eth2' } });
    await rejects({}, /no default IPv4 route/, { defaultRoute: { 4: 'gone0' } });
  });

  it('logs the choice and the reason', async () => {
    const lines: string[] = [];
    const log = createLogger({ sink: { write: (l) => lines.push(l) } });
    await selectExternalInterface(new FakeInterfaces(HOST, ROUTES), { ...V4, ifaces: ['nope0', 'eth1'] }, log);
    assert.ok(lines.some((l) => l.startsWith('W') && l.includes('-iface=nope0')));
    assert.ok(lines.some((l) => l.includes('Using interface eth1 with address 10.0.5.2 (MTU 9000) because -iface=eth1')));
  });
});
