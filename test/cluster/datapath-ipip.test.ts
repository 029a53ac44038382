/**
 * End to end, the ipip backend: three hosts with flannel.ipip (local address, MTU 1480, /32
 * address), one route per peer via its public IP onlink through the tunnel (or, with
 * DirectRouting, through the interface), Go flannel's lease value, pods pinging one another, a
 * removed host's route going, and -cleanup removing the device. These need a kernel with ipip:
 * where the kernel refuses an ipip link they are skipped, and the reason printed. What runs on
 * any kernel: a kernel without ipip makes flanneld exit 1 saying so, with no lease; an IPv6
 * network is a config error. Needs root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { flanneldCommand } from '../support/implementation.js';
import { leaseKeyOf, readLeases, startHostsWithPods, waitForHostState, type DatapathSpec, type HostFacts, type HostState } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { linkNames, readAddresses, readLink, readRoutes } from './kernel-state.js';
import { etcdClient, listSubnetKeys } from './lease-checks.js';
import { pingAll } from './pod-traffic.js';
import type { Pod } from './pods.js';

const HOSTS = [1, 2, 3] as const;
const NETWORK = '10.5.0.0/16';
const root = process.getuid?.() === 0;
/** Routes with a gateway into the cluster network: host-gw's view of a host is the one ipip needs. */
const ROUTES_ONLY: DatapathSpec = { backend: 'host-gw', mode: 'v4' };

/** Why this kernel cannot run ipip (it refuses the link in a throw-away namespace), or undefined. */
function ipipRefusal(): string | undefined {
  if (!root) return undefined;
  const r = spawnSync('unshare', ['--net', 'ip', 'link', 'add', 'ftst-ipip0', 'type', 'ipip', 'local', '192.0.2.1'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return `this kernel refuses ipip links (ip link add type ipip: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
}

const refusal = ipipRefusal();
const skipDatapath = !root ? 'needs root' : refusal ? `skipped: ${refusal}` : false;
if (refusal) process.stdout.write(`ipip end-to-end data path skipped: ${refusal}\n`);

function expectedRoutes(cluster: Cluster, self: number, peers: readonly HostFacts[], direct: boolean): HostState {
  const routes = peers
    .filter((p) => p.host !== self)
    .map((p) => `${p.net4?.toString()} via ${p.pub4} dev ${direct ? cluster.hostIface(self) : 'flannel.ipip'} onlink`)
    .sort();
  return { routes, neighbors: [], fdb: [] };
}

function describeIpip(directRouting: boolean): void {
  describe(`ipip IPv4${directRouting ? ' + DirectRouting' : ''}`, { skip: skipDatapath, timeout: 60_000 }, () => {
    let cluster: Cluster;
    const agents: Agent[] = [];
    const pods: Pod[] = [];
    const facts: HostFacts[] = [];

    before(async () => {
      cluster = await createCluster({ hosts: HOSTS.length });
      await cluster.putConfig({ Network: NETWORK, Backend: { Type: 'ipip', DirectRouting: directRouting } });
      await startHostsWithPods(cluster, HOSTS, ROUTES_ONLY, { agents, pods, facts });
    });

    after(async () => {
      await cluster?.destroy();
    });

    it("makes flannel.ipip as flannel does: local address, MTU - 20, the subnet's /32, up", async () => {
      for (const i of HOSTS) {
        const link = await readLink(cluster, i, 'flannel.ipip');
        assert.ok(link, `host ${i}: flannel.ipip`);
        assert.equal(link.kind, 'ipip');
        assert.equal(link.mtu, 1480);
        assert.ok(link.flags.includes('UP'));
        assert.equal(link.data.local, cluster.hostAddress(i));
        assert.ok(link.data.remote === undefined || link.data.remote === 'any', `remote ${String(link.data.remote)}`);
        assert.deepEqual(await readAddresses(cluster, i, 'flannel.ipip', 4), [`${facts[i - 1]?.net4?.ip.toString()}/32`]);
      }
      for (const p of pods) assert.equal(p.mtu, 1480, `FLANNEL_MTU of host ${p.host}`);
    });

    it(`routes each peer's subnet via its public IP onlink ${directRouting ? 'through the interface' : 'through the tunnel'}`, async () => {
      for (const i of HOSTS) await waitForHostState(cluster, i, ROUTES_ONLY, expectedRoutes(cluster, i, facts, directRouting));
    });

    it("writes Go flannel's lease value", async () => {
      const want = new Map(facts.map((f) => [leaseKeyOf(f), `{"PublicIP":"${f.pub4}","PublicIPv6":null,"BackendType":"ipip"}`]));
      assert.deepEqual(await readLeases(cluster), want);
    });

    it('every pod reaches every other pod', async () => {
      await pingAll(pods, [4]);
    });

    it("removes a removed host's route from the others", async () => {
      const gone = facts[2];
      assert.ok(gone);
      await agents[2]?.kill();
      assert.equal(Number((await cluster.etcdctl(['del', leaseKeyOf(gone)])).trim()), 1);
      for (const i of [1, 2]) await waitForHostState(cluster, i, ROUTES_ONLY, expectedRoutes(cluster, i, facts.slice(0, 2), directRouting));
      await pingAll(pods.slice(0, 2), [4]);
    });

    it('logs no errors, and -cleanup removes the device and its routes', async () => {
      for (const a of agents.slice(0, 2)) {
        const errors = (await a.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
        assert.deepEqual(errors, [], `errors in the log of host ${a.host}`);
      }
      const a = agents[0];
      assert.ok(a);
      assert.equal(await a.stop(), 0);
      const res = await cluster.exec(1, [...flanneldCommand(), '-cleanup', `-subnet-file=${a.subnetFile}`], { allowFailure: true });
      assert.equal(res.exitCode, 0, res.stderr);
      assert.deepEqual(await linkNames(cluster, 1, 'flannel'), []);
      assert.deepEqual((await readRoutes(cluster, 1, 4)).filter((r) => r.dst.startsWith('10.5.') && r.gateway), []);
    });
  });
}

describeIpip(false);
describeIpip(true);

describe('ipip: what stops the agent', { skip: root ? false : 'needs root', timeout: 60_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    // IPv6 on the underlay, so that the IPv6 case reaches the backend (not the interface check).
    cluster = await createCluster({ hosts: 1, ipv6: true });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const expectExit1 = async (config: Record<string, unknown>, says: RegExp) => {
    await cluster.putConfig(config);
    const kv = etcdClient(cluster);
    try {
      const agent = cluster.startAgent(1);
      assert.equal(await agent.waitForExit(), 1);
      assert.match(await agent.readLog(), says);
      assert.deepEqual(await listSubnetKeys(kv), [], 'no lease key written');
      assert.deepEqual(await linkNames(cluster, 1, 'flannel'), [], 'no device left');
    } finally {
      kv.close();
    }
  };

  it('an IPv6 network: a config error naming EnableIPv6', async () => {
    await expectExit1(
      { Network: NETWORK, EnableIPv6: true, IPv6Network: 'fc00:5::/48', Backend: { Type: 'ipip' } },
      /invalid network config: EnableIPv6=true: the ipip backend carries IPv4 only/,
    );
  });

  it('a kernel without ipip: exit 1 saying the kernel lacks ipip', { skip: root && !refusal ? 'this kernel has ipip' : false }, async () => {
    await expectExit1(
      { Network: NETWORK, Backend: { Type: 'ipip' } },
      /ipip backend: the kernel refused to create flannel\.ipip \(operation not supported, EOPNOTSUPP\): this kernel lacks ipip tunnel support/,
    );
  });
});
