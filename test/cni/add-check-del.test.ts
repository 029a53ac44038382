/**
 * bin/flannel with Debian's real bridge and host-local over IPv4: ADD gives the pod an address
 * in FLANNEL_SUBNET, the cluster route and the MTU; CHECK passes on a healthy pod and fails
 * once its address is removed; DEL removes the interface and releases the address. Needs root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { CniRun, SUBNET_ENV_V4, cniSkipReason, type IpAddrInfo, type IpRoute, type PluginRun } from './cni-fixture.js';

const skip = cniSkipReason();

function ok(r: PluginRun, what: string): void {
  assert.equal(r.exitCode, 0, `${what}: exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function podAddress(r: PluginRun, family: 4 | 6): string {
  const ips = (r.doc?.ips ?? []) as { address: string }[];
  const a = ips.find((i) => IPAddress.parse(i.address.split('/')[0] ?? '').family === family);
  assert.ok(a, `no IPv${family} address in ${r.stdout}`);
  return a.address;
}

describe('flannel CNI plugin with bridge and host-local (IPv4)', { skip, timeout: 120_000 }, () => {
  let cniRun: CniRun;
  before(async () => {
    cniRun = await CniRun.create();
  });
  after(async () => {
    await cniRun?.destroy();
  });

  it('ADD, CHECK, CHECK after the address is removed, DEL', async () => {
    const s = await cniRun.scenario();
    await s.writeSubnetEnv(SUBNET_ENV_V4);
    const add = await s.invoke('ADD', s.conf(), { containerId: 'c1', pod: s.pod() });
    ok(add, 'ADD');
    const address = podAddress(add, 4);
    assert.ok(IPNetwork.parse('10.244.7.0/24').contains(IPAddress.parse(address.split('/')[0] ?? '')), `${address} in FLANNEL_SUBNET`);
    assert.equal(address.split('/')[1], '24');
    assert.deepEqual(add.doc?.routes, [{ dst: '10.244.0.0/16' }]);

    const [eth0] = await s.ipJson<IpAddrInfo[]>(s.pod(), ['addr', 'show', 'dev', 'eth0']);
    assert.ok(eth0);
    assert.equal(eth0.mtu, 1450, 'pod MTU = FLANNEL_MTU');
    assert.ok(eth0.addr_info.some((a) => `${a.local}/${a.prefixlen}` === address), `eth0 has ${address}`);
    const routes = await s.ipJson<IpRoute[]>(s.pod(), ['route', 'show']);
    assert.ok(routes.some((r) => r.dst === '10.244.0.0/16' && r.gateway === '10.244.7.1' && r.dev === 'eth0'), JSON.stringify(routes));
    const [cni0] = await s.ipJson<IpAddrInfo[]>(s.host, ['addr', 'show', 'dev', 'cni0']);
    assert.ok(cni0?.addr_info.some((a) => a.local === '10.244.7.1' && a.prefixlen === 24), 'cni0 is the gateway');
    assert.equal(cni0?.mtu, 1450);

    const saved = JSON.parse(await readFile(join(s.dataDir, 'c1'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved.type, 'bridge');
    assert.equal(saved.ipMasq, false);

    const check = { ...s.conf(), prevResult: add.doc };
    ok(await s.invoke('CHECK', check, { containerId: 'c1', pod: s.pod() }), 'CHECK of a healthy pod');

    await s.exec(s.pod(), ['ip', 'addr', 'del', address, 'dev', 'eth0']);
    const bad = await s.invoke('CHECK', check, { containerId: 'c1', pod: s.pod() });
    assert.notEqual(bad.exitCode, 0, 'CHECK fails once the address is gone');
    assert.equal(bad.doc?.code, 101);
    assert.match(String(bad.doc?.msg), new RegExp(`address ${address.replace(/\./g, '\\.')} is missing from eth0`));

    ok(await s.invoke('DEL', s.conf(), { containerId: 'c1', pod: s.pod() }), 'DEL');
    const links = await s.ipJson<{ ifname: string }[]>(s.pod(), ['link', 'show']);
    assert.deepEqual(links.map((l) => l.ifname), ['lo'], 'eth0 removed');
    const hostLinks = await s.ipJson<{ ifname: string }[]>(s.host, ['link', 'show']);
    assert.deepEqual(hostLinks.filter((l) => l.ifname.startsWith('veth')), [], 'host end of the veth removed');
    assert.equal(existsSync(join(s.dataDir, 'c1')), false, 'saved config removed');
    assert.ok(!(await readdir(join(s.ipamDir, 'cbr0'))).includes(address.split('/')[0] ?? ''), 'host-local released the address');
    ok(await s.invoke('DEL', s.conf(), { containerId: 'c1', pod: s.pod() }), 'a second DEL');
  });

  it('DEL releases the address: with a single free address, a second pod gets it only after the DEL', async () => {
    const s = await cniRun.scenario(2);
    // 10.244.7.0/30: .1 is the gateway, .2 the only address for pods.
    await s.writeSubnetEnv(SUBNET_ENV_V4.replace('FLANNEL_SUBNET=10.244.7.1/24', 'FLANNEL_SUBNET=10.244.7.1/30'));
    const first = await s.invoke('ADD', s.conf(), { containerId: 'c1', pod: s.pod(0) });
    ok(first, 'ADD c1');
    assert.equal(podAddress(first, 4), '10.244.7.2/30');
    const full = await s.invoke('ADD', s.conf(), { containerId: 'c2', pod: s.pod(1) });
    assert.notEqual(full.exitCode, 0, 'no address left for c2');
    assert.match(String(full.doc?.msg), /^delegate bridge ADD: /);
    ok(await s.invoke('DEL', s.conf(), { containerId: 'c2', pod: s.pod(1) }), 'DEL of the failed c2');
    ok(await s.invoke('DEL', s.conf(), { containerId: 'c1', pod: s.pod(0) }), 'DEL c1');
    const again = await s.invoke('ADD', s.conf(), { containerId: 'c2', pod: s.pod(1) });
    ok(again, 'ADD c2 after DEL c1');
    assert.equal(podAddress(again, 4), '10.244.7.2/30');
    ok(await s.invoke('DEL', s.conf(), { containerId: 'c2', pod: s.pod(1) }), 'DEL c2');
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
    it(`speaks CNI ${version}: ADD's result in that version, CHECK where the version has it, DEL`, async () => {
      const s = await cniRun.scenario();
      await s.writeSubnetEnv(SUBNET_ENV_V4);
      const conf = s.conf({ cniVersion: version });
      const add = await s.invoke('ADD', conf, { containerId: 'v', pod: s.pod() });
      ok(add, `ADD ${version}`);
      assert.equal(add.doc?.cniVersion, version);
      const check = await s.invoke('CHECK', { ...conf, prevResult: add.doc }, { containerId: 'v', pod: s.pod() });
      if (version === '0.3.1') assert.equal(check.doc?.code, 1, 'no CHECK before 0.4.0');
      else ok(check, `CHECK ${version}`);
      ok(await s.invoke('DEL', { ...conf, prevResult: add.doc }, { containerId: 'v', pod: s.pod() }), `DEL ${version}`);
    });
  }
});
