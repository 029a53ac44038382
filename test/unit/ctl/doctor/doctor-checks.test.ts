import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodeOf, type Finding } from '../../../../src/ctl/doctor/finding.js';
import { runChecks } from '../../../../src/ctl/doctor/run-checks.js';
import type { DoctorFacts } from '../../../../src/ctl/doctor/doctor-facts.js';
import { flannelChains, healthyFacts, iptablesSave, ip, lease, MAC, net, withKernel } from './doctor-fixture.js';

const errors = (fs: readonly Finding[]) => fs.filter((f) => f.severity === 'error');
const warnings = (fs: readonly Finding[]) => fs.filter((f) => f.severity === 'warning');

/** The one failed finding of `facts`, asserted to be of `check` and to match `what`. */
function onlyError(facts: DoctorFacts, check: string, what: RegExp): Finding {
  const fs = runChecks(facts);
  const errs = errors(fs);
  assert.equal(errs.length, 1, `want one failed finding, got:\n${errs.map((f) => `${f.check}: ${f.what}`).join('\n')}`);
  const f = errs[0]!;
  assert.equal(f.check, check);
  assert.match(f.what, what);
  assert.ok(f.why && f.fix, 'a problem says why and how to fix it');
  assert.equal(exitCodeOf(fs), 1);
  return f;
}

describe('doctor checks on a vxlan host', () => {
  it('finds nothing wrong on a healthy host, and says what it checked', () => {
    const fs = runChecks(healthyFacts());
    assert.deepEqual(errors(fs), []);
    assert.deepEqual(warnings(fs), []);
    assert.equal(exitCodeOf(fs), 0);
    const checks = new Set(fs.map((f) => f.check));
    for (const c of ['store', 'lease', 'leases', 'subnet-env', 'device', 'peers', 'rules', 'pod-mtu', 'port']) assert.ok(checks.has(c), `check ${c} reported`);
    assert.ok(fs.some((f) => f.check === 'peers' && /2 of 2 remote leases fully programmed/.test(f.what)));
    assert.ok(fs.some((f) => f.check === 'lease' && /public IP 192\.168\.77\.11 is on this host/.test(f.what)));
  });

  it('accepts the masquerade chain without --random-fully (older iptables)', () => {
    const f = healthyFacts();
    const fs = runChecks({ ...f, rules: { byFamily: { 4: { iptablesSave: iptablesSave(flannelChains(false)) } } } });
    assert.deepEqual(errors(fs), []);
  });

  it('subnet.env missing', () => {
    const f = healthyFacts();
    const e = onlyError({ ...f, subnetEnv: { path: '/run/flannel/subnet.env', missing: true, error: 'ENOENT' } }, 'subnet-env', /does not exist/);
    assert.match(e.why ?? '', /CNI plugin/);
  });

  it('stale subnet.env: FLANNEL_SUBNET of another lease', () => {
    const f = healthyFacts();
    const vars = new Map(f.subnetEnv.vars);
    vars.set('FLANNEL_SUBNET', '10.244.9.1/24');
    const e = onlyError({ ...f, subnetEnv: { ...f.subnetEnv, vars } }, 'subnet-env', /FLANNEL_SUBNET=10\.244\.9\.1\/24, the store says 10\.244\.1\.1\/24/);
    assert.match(e.fix ?? '', /restart flanneld/);
  });

  it('stale subnet.env: FLANNEL_NETWORK of an old config', () => {
    const f = healthyFacts();
    const vars = new Map(f.subnetEnv.vars);
    vars.set('FLANNEL_NETWORK', '10.5.0.0/16');
    onlyError({ ...f, subnetEnv: { ...f.subnetEnv, vars } }, 'subnet-env', /FLANNEL_NETWORK=10\.5\.0\.0\/16/);
  });

  it('flannel.1 MTU below FLANNEL_MTU (an MTU black hole)', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.links = k.links.map((l) => (l.name === 'flannel.1' ? { ...l, mtu: 1400 } : l));
    });
    const e = onlyError(f, 'device', /flannel\.1 MTU 1400 is below FLANNEL_MTU 1450/);
    assert.match(e.why ?? '', /black hole/);
  });

  it('flannel.1 MTU too large for the underlay', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.links = k.links.map((l) => (l.name === 'eth0' ? { ...l, mtu: 1400 } : l));
    });
    onlyError(f, 'device', /flannel\.1 MTU 1450 \+ 50 bytes of encapsulation exceed eth0's MTU 1400/);
  });

  it('flannel.1 MAC differs from the lease VtepMAC', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.links = k.links.map((l) => (l.name === 'flannel.1' ? { ...l, hardwareAddr: '0e:2a:00:00:00:99' } : l));
    });
    onlyError(f, 'device', /MAC 0e:2a:00:00:00:99, the lease's VtepMAC 0e:2a:00:00:00:01/);
  });

  it('flannel.1 missing: the device and every peer entry are reported', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.links = k.links.filter((l) => l.name !== 'flannel.1');
      k.routes = k.routes.filter((r) => r.linkIndex !== 3);
      k.neighbors = [];
      k.fdb = [];
      k.addresses = k.addresses.filter((a) => a.linkIndex !== 3);
    });
    const fs = errors(runChecks({ ...f, udpSockets: [] }));
    assert.ok(fs.some((x) => x.check === 'device' && /flannel\.1 does not exist/.test(x.what)));
    assert.ok(fs.some((x) => x.check === 'peers' && /10\.244\.2\.0\/24.*route 10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink missing/.test(x.what)));
    assert.ok(fs.some((x) => x.check === 'port' && /udp\/8472.*nothing listens/.test(x.what)));
  });

  it('a route to a peer deleted', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.routes = k.routes.filter((r) => !r.dst.equals(net('10.244.3.0/24')));
    });
    const e = onlyError(f, 'peers', /peer 10\.244\.3\.0\/24 \(192\.168\.77\.13\): route 10\.244\.3\.0\/24 via 10\.244\.3\.0 dev flannel\.1 onlink missing$/);
    assert.match(e.fix ?? '', /30 s resync/);
  });

  it('a neighbour with the wrong MAC and an FDB entry to the wrong host', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.neighbors = k.neighbors.map((n) => (n.ip.equals(ip('10.244.2.0')) ? { ...n, hardwareAddr: MAC[3] } : n));
      k.fdb = k.fdb.map((x) => (x.hardwareAddr === MAC[2] ? { ...x, dst: ip('192.168.77.99') } : x));
    });
    onlyError(f, 'peers', /neighbour 10\.244\.2\.0 is 0e:2a:00:00:00:03 .*wanted 0e:2a:00:00:00:02 permanent; FDB entry 0e:2a:00:00:00:02 points at 192\.168\.77\.99/);
  });

  it('a leftover route with no lease behind it is a warning', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.routes = [...k.routes, { dst: net('10.244.7.0/24'), gateway: ip('10.244.7.0'), linkIndex: 3, onlink: true, table: 254 }];
    });
    const fs = runChecks(f);
    assert.deepEqual(errors(fs), []);
    assert.match(warnings(fs)[0]?.what ?? '', /route 10\.244\.7\.0\/24 via 10\.244\.7\.0 dev flannel\.1 onlink has no lease behind it/);
    assert.equal(exitCodeOf(fs), 0, 'warnings alone do not fail');
  });

  it('a peer on another backend is a warning', () => {
    const f = healthyFacts();
    const fs = runChecks({ ...f, store: { ...f.store, leases: [lease(1), lease(2), lease(3, { backendType: 'host-gw', backendData: undefined })] } });
    assert.match(warnings(fs).map((w) => w.what).join('\n'), /10\.244\.3\.0\/24 \(192\.168\.77\.13\) uses backend host-gw, this host vxlan/);
  });

  it('the masquerade jump removed from POSTROUTING', () => {
    const f = healthyFacts();
    const text = f.rules!.byFamily[4]!.iptablesSave!.replace(/^-A POSTROUTING .*\n/m, '');
    const e = onlyError({ ...f, rules: { byFamily: { 4: { iptablesSave: text } } } }, 'rules', /masquerade \(IPv4\): iptables -t nat: no jump from POSTROUTING to FLANNEL-POSTRTG/);
    assert.match(e.why ?? '', /replies from outside never come back/);
  });

  it('masquerade chain missing is fine when FLANNEL_IPMASQ=false', () => {
    const f = healthyFacts();
    const vars = new Map(f.subnetEnv.vars);
    vars.set('FLANNEL_IPMASQ', 'false');
    const fwdOnly = flannelChains().filter((c) => c.table === 'filter');
    assert.deepEqual(errors(runChecks({ ...f, subnetEnv: { ...f.subnetEnv, vars }, rules: { byFamily: { 4: { iptablesSave: iptablesSave(fwdOnly) } } } })), []);
  });

  it('no forward rules: fine under FORWARD ACCEPT, a problem under FORWARD DROP (Docker)', () => {
    const f = healthyFacts();
    const masqOnly = flannelChains().filter((c) => c.table === 'nat');
    assert.deepEqual(errors(runChecks({ ...f, rules: { byFamily: { 4: { iptablesSave: iptablesSave(masqOnly) } } } })), []);
    const e = onlyError({ ...f, rules: { byFamily: { 4: { iptablesSave: iptablesSave(masqOnly, { forwardPolicy: 'DROP' }) } } } }, 'rules', /forward \(IPv4\).*FORWARD policy DROP/);
    assert.match(e.fix ?? '', /-iptables-forward-rules=true/);
  });

  it('an INPUT rule dropping udp/8472', () => {
    const f = healthyFacts();
    const text = iptablesSave(flannelChains(), { input: ['-A INPUT -p udp -m udp --dport 8472 -j DROP'] });
    const e = onlyError({ ...f, rules: { byFamily: { 4: { iptablesSave: text } } } }, 'port', /udp\/8472 .*INPUT chain drops it/);
    assert.equal(e.fix?.split(' (')[0], 'iptables -D INPUT -p udp -m udp --dport 8472 -j DROP');
  });

  it('INPUT policy DROP without a rule for the port is a warning; with an ACCEPT rule it is fine', () => {
    const f = healthyFacts();
    const drop = runChecks({ ...f, rules: { byFamily: { 4: { iptablesSave: iptablesSave(flannelChains(), { inputPolicy: 'DROP' }) } } } });
    assert.match(warnings(drop)[0]?.what ?? '', /INPUT policy DROP and no rule accepting udp\/8472/);
    const text = iptablesSave(flannelChains(), { inputPolicy: 'DROP', input: ['-A INPUT -p udp -m multiport --dports 8285,8472 -j ACCEPT'] });
    assert.deepEqual(warnings(runChecks({ ...f, rules: { byFamily: { 4: { iptablesSave: text } } } })), []);
  });

  it('a pod veth with an MTU above FLANNEL_MTU', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.links = k.links.map((l) => (l.name === 'veth2' ? { ...l, mtu: 1500 } : l));
    });
    onlyError(f, 'pod-mtu', /1 pod veth\(s\) on cni0 with MTU above FLANNEL_MTU 1450: veth2 \(1500\)/);
  });

  it('cni0 with the gateway address of an old lease', () => {
    const f = withKernel(healthyFacts(), (k) => {
      k.addresses = k.addresses.map((a) => (a.linkIndex === 4 ? { ...a, ip: ip('10.244.9.1') } : a));
    });
    onlyError(f, 'pod-mtu', /cni0 has 10\.244\.9\.1\/24, the lease wants 10\.244\.1\.1\/24/);
  });

  it('no lease for this host', () => {
    const f = healthyFacts();
    const e = onlyError({ ...f, store: { ...f.store, leases: [lease(2), lease(3)] } }, 'lease', /no lease in the store belongs to this host/);
    assert.match(e.fix ?? '', /-public-ip/);
  });

  it('finds the own lease by -public-ip and by node name', () => {
    const f = healthyFacts();
    const v = runChecks({ ...f, host: { publicIP: ip('192.168.77.11') } });
    assert.ok(v.some((x) => /192\.168\.77\.11 \(-public-ip\)/.test(x.what)));
    const named = { ...f, store: { ...f.store, leases: [{ ...lease(1), nodeName: 'n1' }, lease(2), lease(3)] }, host: { nodeName: 'n1' } };
    assert.ok(runChecks(named).some((x) => x.check === 'lease' && /\[node n1\]/.test(x.what)));
  });

  it('two leases with one public IP, and overlapping subnets', () => {
    const f = healthyFacts();
    const dup = lease(2, {}, '10.244.4.0/24');
    const over = lease(3, { publicIP: ip('192.168.77.14') }, '10.244.2.0/23');
    const fs = errors(runChecks({ ...f, store: { ...f.store, leases: [lease(1), lease(2), lease(3), dup, over] } }));
    assert.ok(fs.some((x) => x.check === 'leases' && /public IP 192\.168\.77\.12 is held by 2 leases/.test(x.what)));
    assert.ok(fs.some((x) => x.check === 'leases' && /subnets overlap: 10\.244\.2\.0\/24 .* and 10\.244\.2\.0\/23/.test(x.what)));
  });

  it('the store cannot be reached: a failed finding, and the host-side checks still run', () => {
    const f = healthyFacts();
    const fs = runChecks({ ...f, store: { configError: 'cannot open the store: connect ECONNREFUSED', leasesError: 'cannot open the store: connect ECONNREFUSED' } });
    assert.equal(exitCodeOf(fs), 1);
    assert.ok(errors(fs).every((x) => x.check === 'store'));
    assert.ok(fs.some((x) => x.check === 'subnet-env'));
  });
});

describe('doctor in kube mode', () => {
  it('a node the API lists but that holds no lease: the store says why', () => {
    const f = healthyFacts();
    const facts = { ...f, host: { nodeName: 'n1' }, store: { ...f.store, leases: [{ ...lease(2), nodeName: 'n2' }], skipped: [{ node: 'n1', reason: 'no IPv4 podCIDR' }] } };
    const e = runChecks(facts).filter((x) => x.severity === 'error' && x.check === 'lease');
    assert.equal(e.length, 1);
    assert.match(e[0]!.what, /^node n1 is in the API but holds no lease: no IPv4 podCIDR$/);
    assert.match(e[0]!.fix ?? '', /--allocate-node-cidrs/);
  });
});
