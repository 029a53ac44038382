/**
 * bin/flannel with bridge and host-local for an IPv6-only and a dual-stack subnet.env: the pod
 * gets an address of each family in the node's subnets, a route to each cluster network, the
 * MTU; CHECK passes; DEL removes it all. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { CniRun, SUBNET_ENV_DUAL, SUBNET_ENV_V6, cniSkipReason, type IpAddrInfo, type IpRoute, type PluginRun } from './cni-fixture.js';

const skip = cniSkipReason();

function ok(r: PluginRun, what: string): void {
  assert.equal(r.exitCode, 0, `${what}: exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

const CASES = [
  { name: 'IPv6 only', env: SUBNET_ENV_V6, mtu: 1430, subnets: ['fc00:5:0:7::/64'], routes: [{ dst: 'fc00:5::/48', gw: 'fc00:5:0:7::1' }] },
  {
    name: 'dual stack',
    env: SUBNET_ENV_DUAL,
    mtu: 1430,
    subnets: ['10.244.7.0/24', 'fc00:5:0:7::/64'],
    routes: [
      { dst: '10.244.0.0/16', gw: '10.244.7.1' },
      { dst: 'fc00:5::/48', gw: 'fc00:5:0:7::1' },
    ],
  },
];

describe('flannel CNI plugin with bridge and host-local (IPv6, dual stack)', { skip, timeout: 120_000 }, () => {
  let cniRun: CniRun;
  before(async () => {
    cniRun = await CniRun.create();
  });
  after(async () => {
    await cniRun?.destroy();
  });

  for (const c of CASES) {
    it(`${c.name}: ADD, CHECK, DEL`, async () => {
      const s = await cniRun.scenario();
      await s.writeSubnetEnv(c.env);
      const add = await s.invoke('ADD', s.conf(), { containerId: 'c1', pod: s.pod() });
      ok(add, 'ADD');
      const ips = ((add.doc?.ips ?? []) as { address: string }[]).map((i) => i.address);
      assert.equal(ips.length, c.subnets.length, `one address per family: ${ips.join(', ')}`);
      for (const [i, subnet] of c.subnets.entries()) {
        const [ip, len] = (ips[i] ?? '').split('/');
        assert.ok(IPNetwork.parse(subnet).contains(IPAddress.parse(ip ?? '')), `${ips[i]} in ${subnet}`);
        assert.equal(len, subnet.split('/')[1]);
      }
      assert.deepEqual(add.doc?.routes, c.routes.map((r) => ({ dst: r.dst })));

      const [eth0] = await s.ipJson<IpAddrInfo[]>(s.pod(), ['addr', 'show', 'dev', 'eth0']);
      assert.equal(eth0?.mtu, c.mtu);
      for (const a of ips) assert.ok(eth0?.addr_info.some((x) => `${x.local}/${x.prefixlen}` === a), `eth0 has ${a}`);
      for (const r of c.routes) {
        const fam = r.dst.includes(':') ? '-6' : '-4';
        const routes = await s.ipJson<IpRoute[]>(s.pod(), [fam, 'route', 'show']);
        assert.ok(routes.some((k) => k.dst === r.dst && k.gateway === r.gw), `route ${r.dst} via ${r.gw} in ${JSON.stringify(routes)}`);
      }

      ok(await s.invoke('CHECK', { ...s.conf(), prevResult: add.doc }, { containerId: 'c1', pod: s.pod() }), 'CHECK');
      ok(await s.invoke('DEL', s.conf(), { containerId: 'c1', pod: s.pod() }), 'DEL');
      const links = await s.ipJson<{ ifname: string }[]>(s.pod(), ['link', 'show']);
      assert.deepEqual(links.map((l) => l.ifname), ['lo']);
    });
  }
});
