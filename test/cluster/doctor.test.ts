/**
 * `flannelctl doctor` against real hosts: two namespace hosts on vxlan with a real etcd and real
 * agents (host 1 with -ip-masq). Doctor is clean on the healthy host; then faults are injected
 * by hand on host 1, one at a time, and doctor must fail (exit 1) with the right finding, and be
 * clean again once the fault is undone.
 *
 * The agent repairs the kernel by itself: a deleted route comes back on the kernel's delete
 * event, a removed rule at the next -iptables-resync pass. So for the kernel and rule faults the
 * agent is frozen first (SIGSTOP): the fault then stays while doctor looks, and after SIGCONT
 * the agent's repair is the proof that the fault was real. The MTU fault does not need that
 * (the agent does not watch MTUs) but is injected under SIGSTOP too, so no reconcile can race
 * it. The stale subnet.env is a file edit the agent never rewrites while its lease is unchanged.
 *
 * Each doctor output is printed as a test diagnostic (docs/troubleshooting.md quotes them).
 * Needs root.
 */
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Finding } from '../../src/ctl/doctor/finding.js';
import { poll } from '../support/poll.js';
import { networkConfig, waitForSubnetEnv } from './datapath-checks.js';
import { attachCniPod } from './cni-pods.js';
import { createCluster, ETCD_URL, REPO_ROOT, type Agent, type Cluster } from './harness.js';
import { subnetOf, waitForRemoteLeases } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC = { backend: 'vxlan', mode: 'v4' } as const;
const DEV = 'flannel.1';
const FLANNELCTL = [process.execPath, join(REPO_ROOT, 'bin', 'flannelctl')];

interface DoctorRun {
  readonly code: number | null;
  readonly findings: readonly Finding[];
  readonly table: string;
}

describe('flannelctl doctor on a vxlan host', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  let a: Agent;
  let subB = '';
  let envText = '';

  const flannelctl = (host: number, args: readonly string[]) =>
    cluster.exec(host, [...FLANNELCTL, 'doctor', `-etcd-endpoints=${ETCD_URL}`, `-subnet-file=${join(cluster.hostDir(host), 'subnet.env')}`, ...args], {
      allowFailure: true,
      timeoutMs: 20_000,
    });

  /** doctor on host 1, as JSON and as the table (printed as a diagnostic). */
  const doctor = async (t: TestContext | undefined, label: string): Promise<DoctorRun> => {
    // Both forms at once (doctor only reads): the table for the diagnostic, JSON for the asserts.
    const [json, tableRun] = await Promise.all([flannelctl(1, ['-o', 'json']), t ? flannelctl(1, []) : undefined]);
    let parsed: { findings: Finding[] };
    try {
      parsed = JSON.parse(json.stdout) as { findings: Finding[] };
    } catch {
      throw new Error(`doctor -o json printed no JSON (exit ${json.exitCode}):\n${json.stdout}\n${json.stderr}`);
    }
    const table = tableRun?.stdout ?? '';
    if (t) t.diagnostic(`$ flannelctl doctor   # ${label}\n${table}`);
    return { code: json.exitCode, findings: parsed.findings, table };
  };
  const failed = (r: DoctorRun) => r.findings.filter((f) => f.severity === 'error');
  /** Asserts exit 1 and exactly one failed finding, of `check`, matching `what`. */
  const expectOne = (r: DoctorRun, check: string, what: RegExp): Finding => {
    const errs = failed(r);
    assert.equal(r.code, 1, `doctor exits 1 on a problem:\n${r.table}`);
    assert.equal(errs.length, 1, `one failed finding:\n${JSON.stringify(errs, null, 2)}`);
    const f = errs[0]!;
    assert.equal(f.check, check);
    assert.match(f.what, what);
    assert.ok(f.why && f.fix);
    return f;
  };
  const clean = (what: string) =>
    poll(async () => ((await doctor(undefined, what)).code === 0 ? true : undefined), { what: `doctor clean ${what}`, timeoutMs: 12_000, intervalMs: 250 });
  const freeze = () => process.kill(a.pid, 'SIGSTOP');
  const thaw = () => process.kill(a.pid, 'SIGCONT');

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
    await cluster.putConfig(networkConfig(SPEC));
    a = cluster.startAgent(1, { args: ['-ip-masq'] });
    const b = cluster.startAgent(2);
    const [, envB] = await Promise.all([waitForSubnetEnv(a, 'v4'), waitForSubnetEnv(b, 'v4')]);
    subB = subnetOf(envB.FLANNEL_SUBNET);
    await Promise.all([waitForRemoteLeases(a, 1), waitForRemoteLeases(b, 1)]);
    envText = await readFile(a.subnetFile, 'utf8');
  });

  after(async () => {
    // A frozen agent cannot stop: let it run before the harness stops it.
    if (a?.running) thaw();
    await cluster?.destroy();
  });

  it('is clean on a healthy host (exit 0) and says what it checked', async (t) => {
    await clean('once the peer is programmed');
    const r = await doctor(t, 'healthy host');
    assert.equal(r.code, 0);
    assert.deepEqual(failed(r), []);
    const checks = new Set(r.findings.map((f) => f.check));
    for (const c of ['store', 'lease', 'subnet-env', 'device', 'peers', 'rules', 'port']) assert.ok(checks.has(c), `check ${c}`);
    assert.ok(r.findings.some((f) => f.check === 'peers' && /1 of 1 remote leases fully programmed/.test(f.what)));
    assert.ok(r.findings.some((f) => f.check === 'port' && /udp\/8472 .*a socket listens here/.test(f.what)), 'the kernel vxlan socket is seen');
    assert.match(r.table, /^healthy: 0 failed/m);
  });

  it('finds a wrong MTU on flannel.1', async (t) => {
    freeze();
    try {
      await cluster.exec(1, ['ip', 'link', 'set', DEV, 'mtu', '1400']);
      expectOne(await doctor(t, 'flannel.1 MTU lowered by hand'), 'device', /^flannel\.1 MTU 1400 is below FLANNEL_MTU 1450$/);
      await cluster.exec(1, ['ip', 'link', 'set', DEV, 'mtu', '1450']);
    } finally {
      thaw();
    }
    await clean('with the MTU back');
  });

  it('finds a pod whose MTU is above FLANNEL_MTU', async (t) => {
    const pod = await attachCniPod(cluster, 1, 'dpod1');
    let r = await doctor(undefined, 'with a pod');
    assert.equal(r.code, 0, r.table);
    assert.ok(r.findings.some((f) => f.check === 'pod-mtu' && /^cni0: address of the lease, MTU 1450; 1 pod veth\(s\), all MTU 1450$/.test(f.what)));
    // A pod made under an older, larger MTU: both ends of its veth at 1500. The bridge, whose
    // MTU nobody set, follows its ports up to 1500 too: both are reported.
    await pod.exec(['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
    await cluster.exec(1, ['ip', 'link', 'set', pod.hostIface, 'mtu', '1500']);
    try {
      r = await doctor(t, 'a pod with MTU 1500');
      assert.equal(r.code, 1, r.table);
      const errs = failed(r);
      assert.deepEqual(new Set(errs.map((f) => f.check)), new Set(['pod-mtu']), r.table);
      assert.ok(errs.some((f) => f.what === `1 pod veth(s) on cni0 with MTU above FLANNEL_MTU 1450: ${pod.hostIface} (1500)`), r.table);
    } finally {
      await pod.exec(['ip', 'link', 'set', 'eth0', 'mtu', '1450']);
      await cluster.exec(1, ['ip', 'link', 'set', pod.hostIface, 'mtu', '1450']);
      await cluster.exec(1, ['ip', 'link', 'set', 'cni0', 'mtu', '1450']);
    }
    await clean('with the pod MTU back');
  });

  it('finds a deleted route to the peer (the agent, frozen meanwhile, puts it back)', async (t) => {
    freeze();
    try {
      await cluster.exec(1, ['ip', 'route', 'del', subB]);
      const f = expectOne(await doctor(t, 'route to the peer deleted, agent frozen'), 'peers', new RegExp(`^peer ${subB.replace(/\./g, '\\.')} \\(192\\.168\\.77\\.12\\): route .* dev flannel\\.1 onlink missing$`));
      assert.match(f.fix ?? '', /puts it back/);
    } finally {
      thaw();
    }
    await clean('after the agent repaired the route');
  });

  it('finds a stale subnet.env', async (t) => {
    const stale = envText.replace(/^FLANNEL_SUBNET=.*$/m, 'FLANNEL_SUBNET=10.5.250.1/24');
    assert.notEqual(stale, envText);
    await writeFile(a.subnetFile, stale);
    try {
      expectOne(await doctor(t, 'subnet.env edited'), 'subnet-env', /FLANNEL_SUBNET=10\.5\.250\.1\/24, the store says 10\.5\.\d+\.1\/24/);
    } finally {
      await writeFile(a.subnetFile, envText);
    }
    await rename(a.subnetFile, `${a.subnetFile}.away`);
    try {
      expectOne(await doctor(t, 'subnet.env missing'), 'subnet-env', /subnet\.env does not exist$/);
    } finally {
      await rename(`${a.subnetFile}.away`, a.subnetFile);
    }
    await clean('with subnet.env restored');
  });

  it('finds a missing masquerade rule (the agent, frozen meanwhile, restores it)', async (t) => {
    freeze();
    try {
      await cluster.exec(1, ['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG']);
      expectOne(await doctor(t, 'masquerade jump deleted, agent frozen'), 'rules', /^masquerade \(IPv4\): iptables -t nat: no jump from POSTROUTING to FLANNEL-POSTRTG$/);
    } finally {
      thaw();
    }
    await clean('after the agent restored its rules');
  });

  it('finds a firewall rule dropping the vxlan port', async (t) => {
    const rule = ['INPUT', '-p', 'udp', '--dport', '8472', '-j', 'DROP'];
    await cluster.exec(1, ['iptables', '-I', ...rule]);
    try {
      expectOne(await doctor(t, 'INPUT drops udp/8472'), 'port', /^udp\/8472 .*INPUT chain drops it/);
    } finally {
      await cluster.exec(1, ['iptables', '-D', ...rule]);
    }
  });

  it('rejects bad input with exit 2', async () => {
    const r = await flannelctl(1, ['-public-ip', 'nonsense']);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /-public-ip/);
    assert.match(r.stderr, /nonsense/);
  });
});
