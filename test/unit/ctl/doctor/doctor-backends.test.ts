import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChecks } from '../../../../src/ctl/doctor/run-checks.js';
import type { DoctorFacts, KernelFacts } from '../../../../src/ctl/doctor/doctor-facts.js';
import { config, healthyFacts, ip, lease, net, vxlanKernel } from './doctor-fixture.js';

const errors = (f: DoctorFacts) => runChecks(f).filter((x) => x.severity === 'error');

/** host 1 on host-gw: no device, a route per peer via its public IP on eth0. */
function hostGwFacts(): DoctorFacts {
  const base = healthyFacts();
  const k = vxlanKernel();
  const kernel: KernelFacts = {
    ...k,
    links: k.links.filter((l) => l.name !== 'flannel.1'),
    addresses: k.addresses.filter((a) => a.linkIndex !== 3),
    routes: [
      ...k.routes.filter((r) => r.linkIndex !== 3),
      { dst: net('10.244.2.0/24'), gateway: ip('192.168.77.12'), linkIndex: 2, table: 254 },
      { dst: net('10.244.3.0/24'), gateway: ip('192.168.77.13'), linkIndex: 2, table: 254 },
    ],
    neighbors: [],
    fdb: [],
  };
  const hg = (n: 1 | 2 | 3) => lease(n, { backendType: 'host-gw', backendData: undefined });
  const vars = new Map(base.subnetEnv.vars);
  vars.set('FLANNEL_MTU', '1500');
  return { ...base, store: { config: config({ Type: 'host-gw' }), leases: [hg(1), hg(2), hg(3)] }, kernel, subnetEnv: { ...base.subnetEnv, vars }, udpSockets: [] };
}

const KEY = { 1: Buffer.alloc(32, 1).toString('base64'), 2: Buffer.alloc(32, 2).toString('base64'), 3: Buffer.alloc(32, 3).toString('base64') };

/** host 1 on wireguard (kernel): flannel-wg with both peers. */
function wireguardFacts(): DoctorFacts {
  const base = healthyFacts();
  const k = vxlanKernel();
  const wgLink = { index: 3, name: 'flannel-wg', type: 65534, flags: 1, up: true, mtu: 1420, kind: 'wireguard' };
  const wg = (n: 1 | 2 | 3) => lease(n, { backendType: 'wireguard', backendData: { PublicKey: KEY[n], Port: 51820 } });
  const peer = (n: 2 | 3) => ({ publicKey: KEY[n], endpoint: `192.168.77.1${n}:51820`, allowedIps: [`10.244.${n}.0/24`], lastHandshakeSec: 0 });
  const kernel: KernelFacts = {
    ...k,
    links: k.links.map((l) => (l.index === 3 ? wgLink : l.name === 'cni0' || l.kind === 'veth' ? { ...l, mtu: 1420 } : l)),
    routes: [...k.routes.filter((r) => r.linkIndex !== 3), { dst: net('10.244.0.0/16'), linkIndex: 3, table: 254 }],
    neighbors: [],
    fdb: [],
    wireguard: new Map([['flannel-wg', { implementation: 'kernel' as const, publicKey: KEY[1], listenPort: 51820, peers: [peer(2), peer(3)] }]]),
  };
  const vars = new Map(base.subnetEnv.vars);
  vars.set('FLANNEL_MTU', '1420');
  return { ...base, store: { config: config({ Type: 'wireguard' }), leases: [wg(1), wg(2), wg(3)] }, kernel, subnetEnv: { ...base.subnetEnv, vars }, udpSockets: [{ ip: ip('0.0.0.0'), port: 51820 }] };
}

describe('doctor checks on other backends', () => {
  it('host-gw: healthy, then a route via the wrong gateway and a peer off-link', () => {
    const f = hostGwFacts();
    assert.deepEqual(errors(f), []);
    const k = f.kernel!;
    const bad = { ...f, kernel: { ...k, routes: k.routes.map((r) => (r.dst.equals(net('10.244.2.0/24')) ? { ...r, gateway: ip('192.168.77.99') } : r)) } };
    assert.match(errors(bad)[0]?.what ?? '', /route is 10\.244\.2\.0\/24 via 192\.168\.77\.99 dev eth0, wanted via 192\.168\.77\.12/);
    const far = lease(3, { backendType: 'host-gw', backendData: undefined, publicIP: ip('10.9.0.3') });
    const off = { ...f, store: { ...f.store, leases: [...f.store.leases!.slice(0, 2), far] } };
    assert.match(errors(off)[0]?.what ?? '', /public IP 10\.9\.0\.3 is not on a network of this host: host-gw needs every host on one L2 network/);
  });

  it('host-gw: FLANNEL_MTU above the interface MTU', () => {
    const f = hostGwFacts();
    const vars = new Map(f.subnetEnv.vars);
    vars.set('FLANNEL_MTU', '9000');
    assert.match(errors({ ...f, subnetEnv: { ...f.subnetEnv, vars } })[0]?.what ?? '', /FLANNEL_MTU 9000 is above eth0's MTU 1500/);
  });

  it('wireguard: healthy, then a missing peer, a wrong allowed IP and a key that differs from the lease', () => {
    const f = wireguardFacts();
    assert.deepEqual(errors(f), []);
    const wg = f.kernel!.wireguard.get('flannel-wg') as unknown as { peers: { publicKey: string; allowedIps: string[] }[] } & Record<string, unknown>;
    const edit = (state: Record<string, unknown>) => ({ ...f, kernel: { ...f.kernel!, wireguard: new Map([['flannel-wg', state as never]]) } });
    const missing = edit({ ...wg, peers: wg.peers.slice(0, 1) });
    assert.match(errors(missing)[0]?.what ?? '', new RegExp(`WireGuard peer ${KEY[3].replace(/[+/]/g, '\\$&')} missing on flannel-wg`));
    const wrongIps = edit({ ...wg, peers: wg.peers.map((p, i) => (i === 0 ? { ...p, allowedIps: ['10.244.9.0/24'] } : p)) });
    assert.match(errors(wrongIps)[0]?.what ?? '', /lacks allowed IP 10\.244\.2\.0\/24 \(has 10\.244\.9\.0\/24\)/);
    const otherKey = edit({ ...wg, publicKey: KEY[3] });
    assert.match(errors(otherKey)[0]?.what ?? '', /flannel-wg public key .* the lease's/);
  });

  it('wireguard: the listen port is 51820 and nothing listens there', () => {
    const f = wireguardFacts();
    assert.match(errors({ ...f, udpSockets: [] })[0]?.what ?? '', /^udp\/51820 \(wireguard \(flannel-wg\), IPv4\): nothing listens on this host$/);
  });

  it('alloc: no device and no per-peer entries to check', () => {
    const f = healthyFacts();
    const al = (n: 1 | 2 | 3) => lease(n, { backendType: 'alloc', backendData: undefined });
    const fs = runChecks({ ...f, store: { config: config({ Type: 'alloc' }), leases: [al(1), al(2), al(3)] } });
    assert.deepEqual(fs.filter((x) => x.severity === 'error'), []);
    assert.ok(fs.some((x) => x.check === 'peers' && /backend alloc: no per-peer kernel entries/.test(x.what)));
  });

  it('a lease of the wrong backend for this host, and a lease outside the network', () => {
    const f = healthyFacts();
    const own = lease(1, { backendType: 'host-gw', backendData: undefined });
    const outside = lease(3, {}, '10.9.3.0/24');
    const fs = runChecks({ ...f, store: { ...f.store, leases: [own, lease(2), outside] } });
    assert.ok(fs.some((x) => x.severity === 'error' && /this host's lease says backend host-gw, the network config says vxlan/.test(x.what)));
    assert.ok(fs.some((x) => x.severity === 'warning' && /lease 10\.9\.3\.0\/24 .* lies outside the network 10\.244\.0\.0\/16/.test(x.what)));
  });

  it('nftables mode: masquerade table missing', () => {
    const f = healthyFacts();
    const cfg = config({ Type: 'vxlan' }, { EnableNFTables: true });
    const fs = runChecks({ ...f, store: { ...f.store, config: cfg }, rules: { byFamily: { 4: { nftError: 'Error: No such file or directory', iptablesSave: '' } } } });
    const e = fs.filter((x) => x.severity === 'error');
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.match(e[0]!.what, /masquerade \(IPv4\): table ip flannel-ipv4 missing/);
  });
});
