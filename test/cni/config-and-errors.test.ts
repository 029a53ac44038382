/**
 * bin/flannel with the real plugins: a custom `delegate` and `ipam` section are honoured; bad
 * input gets the spec's error document and changes nothing; GC releases leaked attachments.
 * Needs root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniRun, SUBNET_ENV_V4, cniSkipReason, type IpAddrInfo, type IpRoute, type PluginRun, type Scenario } from './cni-fixture.js';

const skip = cniSkipReason();

function ok(r: PluginRun, what: string): void {
  assert.equal(r.exitCode, 0, `${what}: exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function failed(r: PluginRun, code: number, msg?: RegExp): void {
  assert.equal(r.exitCode, 1, `exit status; stdout ${r.stdout}`);
  assert.equal(r.doc?.code, code, r.stdout);
  assert.equal(typeof r.doc?.cniVersion, 'string');
  if (msg) assert.match(String(r.doc?.msg), msg);
}

/** Every link of the host and pod namespaces: bad input must leave them as they were. */
async function links(s: Scenario): Promise<string[]> {
  const out: string[] = [];
  for (const ns of [s.host, ...s.pods]) for (const l of await s.ipJson<{ ifname: string }[]>(ns, ['link', 'show'])) out.push(`${ns}/${l.ifname}`);
  return out;
}

describe('flannel CNI plugin: custom sections, bad input, GC', { skip, timeout: 120_000 }, () => {
  let cniRun: CniRun;
  before(async () => {
    cniRun = await CniRun.create();
  });
  after(async () => {
    await cniRun?.destroy();
  });

  it('honours a custom delegate section (bridge name, MTU, hairpin) and extra ipam routes', async () => {
    const s = await cniRun.scenario();
    await s.writeSubnetEnv(SUBNET_ENV_V4);
    const conf = s.conf({ delegate: { bridge: 'mybr0', mtu: 1400, hairpinMode: true } }, { routes: [{ dst: '192.168.200.0/24' }] });
    const add = await s.invoke('ADD', conf, { containerId: 'c1', pod: s.pod() });
    ok(add, 'ADD');
    const [br] = await s.ipJson<IpAddrInfo[]>(s.host, ['addr', 'show', 'dev', 'mybr0']);
    assert.ok(br?.addr_info.some((a) => a.local === '10.244.7.1'), 'the bridge is mybr0 and holds the gateway');
    const hostLinks = await s.ipJson<{ ifname: string; master?: string }[]>(s.host, ['link', 'show']);
    assert.equal(hostLinks.some((l) => l.ifname === 'cni0'), false, 'no cni0');
    const [eth0] = await s.ipJson<IpAddrInfo[]>(s.pod(), ['addr', 'show', 'dev', 'eth0']);
    assert.equal(eth0?.mtu, 1400, "the delegate's MTU wins over FLANNEL_MTU");
    const routes = await s.ipJson<IpRoute[]>(s.pod(), ['route', 'show']);
    for (const dst of ['192.168.200.0/24', '10.244.0.0/16']) assert.ok(routes.some((r) => r.dst === dst && r.gateway === '10.244.7.1'), `route ${dst}: ${JSON.stringify(routes)}`);
    const veth = hostLinks.find((l) => l.ifname.startsWith('veth'));
    assert.equal(veth?.master, 'mybr0');
    ok(await s.invoke('CHECK', { ...conf, prevResult: add.doc }, { containerId: 'c1', pod: s.pod() }), 'CHECK');
    ok(await s.invoke('DEL', conf, { containerId: 'c1', pod: s.pod() }), 'DEL');
  });

  it('honours a custom ipam type (static): its address, not host-local', async () => {
    const s = await cniRun.scenario();
    await s.writeSubnetEnv(SUBNET_ENV_V4);
    const conf = s.conf({}, { type: 'static', addresses: [{ address: '10.244.7.50/24', gateway: '10.244.7.1' }] });
    const add = await s.invoke('ADD', conf, { containerId: 'c1', pod: s.pod() });
    ok(add, 'ADD');
    assert.deepEqual(((add.doc?.ips ?? []) as { address: string }[]).map((i) => i.address), ['10.244.7.50/24']);
    const [eth0] = await s.ipJson<IpAddrInfo[]>(s.pod(), ['addr', 'show', 'dev', 'eth0']);
    assert.ok(eth0?.addr_info.some((a) => a.local === '10.244.7.50'));
    ok(await s.invoke('DEL', conf, { containerId: 'c1', pod: s.pod() }), 'DEL');
  });

  it('bad input: spec-shaped errors, nothing created, nothing written outside dataDir', async () => {
    const s = await cniRun.scenario();
    const before = await links(s);
    const pod = s.pod();
    failed(await s.invoke('ADD', s.conf(), { containerId: 'c1', pod }), 11, /does not exist/);
    await s.writeSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    failed(await s.invoke('ADD', s.conf(), { containerId: 'c1', pod }), 6, /missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET/);
    await s.writeSubnetEnv(SUBNET_ENV_V4);
    failed(await s.invoke('ADD', '{"cniVersion": "1.0.0", "name": ', { containerId: 'c1', pod }), 6, /failed to decode network config/);
    failed(await s.invoke('ADD', s.conf({ delegate: { type: 'no-such-plugin' } }), { containerId: 'c1', pod }), 7, /failed to find plugin "no-such-plugin"/);
    for (const id of ['../escaped', '/tmp/escaped', '..']) {
      failed(await s.invoke('ADD', s.conf(), { containerId: id, pod }), 4, /CNI_CONTAINERID/);
      failed(await s.invoke('DEL', s.conf(), { containerId: id, pod }), 4);
    }
    assert.equal(existsSync(join(s.dir, 'escaped')), false);
    assert.equal(existsSync('/tmp/escaped'), false);
    assert.equal(existsSync(s.dataDir), false, 'no state saved by any failed ADD');
    assert.deepEqual(await links(s), before, 'no interface created');
  });

  it('GC releases the attachments the runtime no longer knows', async () => {
    const s = await cniRun.scenario(2);
    await s.writeSubnetEnv(SUBNET_ENV_V4);
    const conf = s.conf({ cniVersion: '1.0.0' });
    ok(await s.invoke('ADD', conf, { containerId: 'keep', pod: s.pod(0) }), 'ADD keep');
    ok(await s.invoke('ADD', conf, { containerId: 'leak', pod: s.pod(1) }), 'ADD leak');
    assert.equal((await readdir(join(s.ipamDir, 'cbr0'))).filter((f) => f.startsWith('10.')).length, 2);
    const gc = { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] };
    ok(await s.invoke('GC', gc, { containerId: '', pod: '', ifName: '' }), 'GC');
    assert.deepEqual(await readdir(s.dataDir), ['keep']);
    assert.equal((await readdir(join(s.ipamDir, 'cbr0'))).filter((f) => f.startsWith('10.')).length, 1, "host-local released the leaked pod's address");
    ok(await s.invoke('STATUS', { ...conf, cniVersion: '1.1.0' }, { containerId: '', pod: '', ifName: '' }), 'STATUS');
    ok(await s.invoke('DEL', conf, { containerId: 'keep', pod: s.pod(0) }), 'DEL keep');
  });
});
