/**
 * End to end, the extension backend doing host-gw's job with `ip` commands: three hosts, each
 * peer's route made by SubnetAddCommand and removed by SubnetRemoveCommand, pods pinging one
 * another, Go flannel's lease value with PreStartupCommand's output as BackendData, and bad
 * options stopping the agent before it takes a lease. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectedHostState, leaseKeyOf, readLeases, startHostsWithPods, waitForHostState, type DatapathSpec, type HostFacts } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { pingAll } from './pod-traffic.js';
import type { Pod } from './pods.js';
import { etcdClient, listSubnetKeys } from './lease-checks.js';

const HOSTS = [1, 2, 3] as const;
const skip = process.getuid?.() !== 0 ? 'needs root' : false;
/** The kernel state these commands make is host-gw's. */
const AS_HOST_GW: DatapathSpec = { backend: 'host-gw', mode: 'v4' };
const BACKEND = {
  Type: 'extension',
  PreStartupCommand: 'printf made-by-pre',
  PostStartupCommand: 'echo post-startup SUBNET=$SUBNET PUBLIC_IP=${PUBLIC_IP} NETWORK=$NETWORK',
  SubnetAddCommand: 'ip route replace $SUBNET via $PUBLIC_IP',
  SubnetRemoveCommand: 'ip route del $SUBNET via $PUBLIC_IP',
};

describe('extension backend (host-gw made of ip commands) IPv4', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  const agents: Agent[] = [];
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];

  before(async () => {
    cluster = await createCluster({ hosts: HOSTS.length });
    await cluster.putConfig({ Network: '10.5.0.0/16', Backend: BACKEND });
    await startHostsWithPods(cluster, HOSTS, AS_HOST_GW, { agents, pods, facts });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("SubnetAddCommand gives every host a route to each peer's subnet via its public IP", async () => {
    for (const i of HOSTS) await waitForHostState(cluster, i, AS_HOST_GW, expectedHostState(cluster, AS_HOST_GW, i, facts));
  });

  it("writes Go flannel's lease value: the interface address, type extension, PreStartupCommand's output", async () => {
    const want = new Map(facts.map((f) => [leaseKeyOf(f), `{"PublicIP":"${f.pub4}","PublicIPv6":null,"BackendType":"extension","BackendData":"made-by-pre"}`]));
    assert.deepEqual(await readLeases(cluster), want);
  });

  it('runs PostStartupCommand with the lease in its environment and logs every command', async () => {
    for (const [k, a] of agents.entries()) {
      const f = facts[k];
      assert.ok(f?.net4);
      const log = await a.readLog();
      assert.ok(log.includes(`output: "post-startup SUBNET=${f.net4.toString()} PUBLIC_IP=${f.pub4} NETWORK=10.5.0.0/16"`), log);
      assert.equal((log.match(/ran SubnetAddCommand "ip route replace \$SUBNET via \$PUBLIC_IP"/g) ?? []).length, 2, log);
      assert.equal(pods[k]?.mtu, 1500);
    }
  });

  it('every pod reaches every other pod', async () => {
    await pingAll(pods, [4]);
  });

  it("SubnetRemoveCommand removes a removed host's route from the others", async () => {
    const gone = facts[2];
    assert.ok(gone);
    await agents[2]?.kill();
    assert.equal(Number((await cluster.etcdctl(['del', leaseKeyOf(gone)])).trim()), 1);
    const left = facts.slice(0, 2);
    for (const i of [1, 2]) await waitForHostState(cluster, i, AS_HOST_GW, expectedHostState(cluster, AS_HOST_GW, i, left));
    for (const a of agents.slice(0, 2)) await a.waitForLog(/ran SubnetRemoveCommand "ip route del \$SUBNET via \$PUBLIC_IP"/);
    await pingAll(pods.slice(0, 2), [4]);
  });

  it('logs no errors', async () => {
    for (const a of agents) {
      const errors = (await a.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
      assert.deepEqual(errors, [], `errors in the log of host ${a.host}`);
    }
  });

  it('bad options or a failing start-up command exit 1 naming them, with no lease written', async () => {
    for (const a of agents) await a.stop();
    await cluster.etcdctl(['del', '--prefix', '/coreos.com/network/subnets/']);
    const kv = etcdClient(cluster);
    try {
      for (const [backend, says] of [
        [{ ...BACKEND, SubnetAddCommand: ['ip', 'route'] }, /invalid network config: Backend\.SubnetAddCommand=\["ip","route"\]: must be a string/],
        [{ ...BACKEND, PostStartupCommand: '   ' }, /invalid network config: Backend\.PostStartupCommand=" {3}": names no program to run/],
        // No shell parses the command: the quotes reach sh as parts of its arguments.
        [{ ...BACKEND, PreStartupCommand: 'sh -c "exit 7"' }, /PreStartupCommand "sh -c \\"exit 7\\"" failed: exit status 2; output: ".*Unterminated quoted string"/],
      ] as const) {
        await cluster.putConfig({ Network: '10.5.0.0/16', Backend: backend });
        const agent = cluster.startAgent(1);
        assert.equal(await agent.waitForExit(), 1);
        assert.match(await agent.readLog(), says);
        assert.deepEqual(await listSubnetKeys(kv), [], 'no lease key written');
      }
    } finally {
      kv.close();
    }
  });
});
