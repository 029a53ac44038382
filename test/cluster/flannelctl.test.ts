/**
 * flannelctl end to end: real etcd and real agents (host-gw) in namespace hosts, flannelctl run
 * inside host 1 as an operator would. config set/get/validate, a reservation no agent takes,
 * leases (table and json) with every host, status against the running agent, docker-opts from a
 * real subnet.env (and its routing-table check), leases gc dry run then -apply on a killed host.
 * Needs root.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { poll } from '../support/poll.js';
import type { RunResult } from '../support/command.js';
import type { Agent } from './agent.js';
import { createCluster, ETCD_URL, REPO_ROOT, type Cluster } from './harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const PORT = 8474;
// Three subnets, one reserved: the two agents must get the other two.
const CONFIG = { Network: '10.5.0.0/16', SubnetMin: '10.5.1.0', SubnetMax: '10.5.3.0', Backend: { Type: 'host-gw' } };
const RESERVED_FOR = '192.168.77.250';
// 15 s leases, renewed every 5 s (a third of the TTL): a killed host is overdue after ~5 s.
const AGENT_ARGS = ['-subnet-lease-ttl=15s'];

interface LeaseJSON {
  subnet: string;
  publicIP: string | null;
  backendType: string | null;
  reserved: boolean;
  ttlSeconds: number | null;
}

describe('flannelctl against a cluster', { skip, timeout: 90_000 }, () => {
  let cluster: Cluster;
  let agents: Agent[] = [];

  /** `flannelctl <args>` in host 1, against the cluster's etcd. */
  const ctl = (args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> =>
    cluster.exec(1, [process.execPath, join(REPO_ROOT, 'bin', 'flannelctl'), ...args, `-etcd-endpoints=${ETCD_URL}`], {
      allowFailure: true,
      timeoutMs: 15_000,
      input: opts.input,
      env: opts.env,
    });
  const leasesJSON = async (): Promise<LeaseJSON[]> => {
    const r = await ctl(['leases', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    return (JSON.parse(r.stdout) as { leases: LeaseJSON[] }).leases;
  };

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('config set refuses a bad document with flanneld\'s error and writes nothing; then sets, gets and validates', async () => {
    const bad = await ctl(['config', 'set', '-'], { input: JSON.stringify({ ...CONFIG, SubnetLen: 31 }) });
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.stderr, 'invalid network config: SubnetLen=31: must be at most 30\n');
    assert.equal(await cluster.etcdctl(['get', '/coreos.com/network/config', '--print-value-only']), '');

    const set = await ctl(['config', 'set', '-'], { input: JSON.stringify(CONFIG) });
    assert.equal(set.exitCode, 0, set.stderr);
    const get = await ctl(['config', 'get']);
    assert.equal(get.stdout, `${JSON.stringify(CONFIG)}\n`);
    const v = await ctl(['config', 'validate', '-o', 'json']);
    assert.equal(v.exitCode, 0, v.stderr);
    assert.deepEqual(JSON.parse(v.stdout), {
      Network: '10.5.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.5.1.0',
      SubnetMax: '10.5.3.0',
      EnableIPv4: true,
      EnableIPv6: false,
      EnableNFTables: false,
      Backend: { Type: 'host-gw' },
    });
  });

  it('reserve add: no agent takes the reserved subnet; leases shows every host and the reservation', async () => {
    const r = await ctl(['reserve', 'add', '10.5.1.0/24', '-public-ip', RESERVED_FOR]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^reserved \/coreos.com\/network\/subnets\/10\.5\.1\.0-24 for 192\.168\.77\.250$/m);
    const bad = await ctl(['reserve', 'add', '10.5.9.0/24', '-public-ip', RESERVED_FOR]);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /invalid subnet "10\.5\.9\.0\/24": not a subnet flanneld would lease/);

    agents = [1, 2].map((i) => cluster.startAgent(i, { args: i === 1 ? [...AGENT_ARGS, `-healthz-port=${PORT}`, '-healthz-ip=127.0.0.1'] : AGENT_ARGS }));
    const envs = await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 15_000 })));
    const taken = envs.map((e) => e['FLANNEL_SUBNET']).sort();
    assert.deepEqual(taken, ['10.5.2.1/24', '10.5.3.1/24'], 'the reserved 10.5.1.0/24 is left alone');

    const table = await ctl(['leases']);
    assert.equal(table.exitCode, 0, table.stderr);
    for (const i of [1, 2]) assert.match(table.stdout, new RegExp(`^10\\.5\\.[23]\\.0/24 +- +${cluster.hostAddress(i).replace(/\./g, '\\.')} +- +host-gw +- +\\d+s +/coreos`, 'm'));
    assert.match(table.stdout, /^10\.5\.1\.0\/24 +- +192\.168\.77\.250 +- +- +- +reserved /m);
    assert.match(table.stdout, /^3 leases in etcd/m);
    const json = await leasesJSON();
    assert.deepEqual(
      json.map((l) => [l.subnet, l.publicIP, l.backendType, l.reserved]),
      [
        ['10.5.1.0/24', RESERVED_FOR, null, true],
        ...[1, 2]
          .map((i) => [envs[i - 1]?.['FLANNEL_SUBNET']?.replace('.1/24', '.0/24'), cluster.hostAddress(i), 'host-gw', false])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ],
    );
    assert.ok(json.filter((l) => !l.reserved).every((l) => l.ttlSeconds !== null && l.ttlSeconds > 0 && l.ttlSeconds <= 15));
  });

  it('status reads the running agent over its health port', async () => {
    const env = await agents[0]?.waitForSubnetFile();
    await poll(async () => (await ctl(['status', `-healthz-port=${PORT}`])).exitCode === 0, { what: 'agent 1 ready', timeoutMs: 10_000, intervalMs: 200 });
    const r = await ctl(['status', `-healthz-port=${PORT}`]);
    assert.match(r.stdout, new RegExp(`^agent +http://127\\.0\\.0\\.1:${PORT}: alive, ready$`, 'm'));
    assert.match(r.stdout, new RegExp(`^lease +${env?.['FLANNEL_SUBNET']?.replace('.1/24', '.0/24').replace(/\./g, '\\.')}, expires in `, 'm'));
    assert.match(r.stdout, /^backend +host-gw$/m);
    const j = await poll(
      async () => {
        const s = JSON.parse((await ctl(['status', '-o', 'json'], { env: { FLANNELD_HEALTHZ_PORT: String(PORT) } })).stdout) as { peersProgrammed: Record<string, number>; reconcile: { runs: number } };
        return s.peersProgrammed['ipv4'] === 1 && s.reconcile.runs > 0 ? s : undefined;
      },
      { what: 'agent 1 to program its peer', timeoutMs: 10_000, intervalMs: 250 },
    );
    assert.ok(j.reconcile.runs >= 1);
  });

  it('docker-opts writes Docker\'s options from the real subnet.env; a routed subnet fails as mk-docker-opts.sh', async () => {
    const env = await agents[0]?.waitForSubnetFile();
    const r = await ctl(['docker-opts', '-f', join(cluster.hostDir(1), 'subnet.env'), '-d', '-']);
    assert.equal(r.exitCode, 0, r.stderr);
    const bip = `--bip=${env?.['FLANNEL_SUBNET']}`;
    const mtu = `--mtu=${env?.['FLANNEL_MTU']}`;
    assert.equal(r.stdout, `DOCKER_OPT_BIP="${bip}"\nDOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="${mtu}"\nDOCKER_OPTS=" ${bip} --ip-masq=true ${mtu}"\n`);
    // Host 2's subnet is routed via host 2 in host 1 (host-gw): the script's check fires.
    const env2 = await agents[1]?.waitForSubnetFile();
    const other = await ctl(['docker-opts', '-f', join(cluster.hostDir(2), 'subnet.env'), '-d', '-', '-c']);
    assert.equal(other.exitCode, 1);
    const net2 = env2?.['FLANNEL_SUBNET']?.replace('.1/24', '.0/24') ?? '';
    assert.equal(other.stderr, `Your routing table already contains the subnet: ${net2} via ${cluster.hostAddress(2)} dev ${cluster.hostIface(1)}\n`);
  });

  it('leases gc: a killed host is listed once overdue (dry run), removed with -apply; live hosts and reservations stay', async () => {
    const victim = agents[1];
    assert.ok(victim);
    const env2 = await victim.waitForSubnetFile();
    const subnet2 = env2['FLANNEL_SUBNET']?.replace('.1/24', '.0/24');
    await victim.kill();
    const dry = await poll(
      async () => {
        const r = await ctl(['leases', 'gc', '-older-than', '3s', '-o', 'json']);
        assert.equal(r.exitCode, 0, r.stderr);
        const j = JSON.parse(r.stdout) as { dryRun: boolean; candidates: { subnet: string; removed: boolean }[] };
        return j.candidates.length > 0 ? j : undefined;
      },
      { what: 'the killed host to be overdue', timeoutMs: 12_000, intervalMs: 300 },
    );
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.candidates.map((c) => [c.subnet, c.removed]), [[subnet2, false]], 'only the killed host');
    assert.equal((await leasesJSON()).length, 3, 'the dry run removed nothing');

    const apply = await ctl(['leases', 'gc', '-older-than', '3s', '-apply']);
    assert.equal(apply.exitCode, 0, apply.stderr);
    assert.match(apply.stdout, new RegExp(`^${subnet2?.replace(/\./g, '\\.')} +${cluster.hostAddress(2).replace(/\./g, '\\.')} .* removed$`, 'm'));
    assert.match(apply.stdout, /^1 removed /m);
    const left = await leasesJSON();
    assert.deepEqual(left.map((l) => l.subnet).sort(), ['10.5.1.0/24', agents[0] ? (await agents[0].waitForSubnetFile())['FLANNEL_SUBNET']?.replace('.1/24', '.0/24') : ''].sort());

    const rm = await ctl(['reserve', 'rm', '10.5.1.0/24']);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.equal((await leasesJSON()).length, 1);
  });
});
