/**
 * End-to-end data path of the host-gw backend over IPv4, IPv6 only and dual stack (see
 * datapath-scenario.ts for what each suite checks), and a peer that is not on-link. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SUBNETS_PREFIX, expectedHostState, hostFacts, networkConfig, waitForHostState, waitForSubnetEnv, type HostFacts } from './datapath-checks.js';
import { describeDatapath } from './datapath-scenario.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { pingAll } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

describeDatapath({ backend: 'host-gw', mode: 'v4' }, { iperf: true });
describeDatapath({ backend: 'host-gw', mode: 'v6' });
describeDatapath({ backend: 'host-gw', mode: 'dual' });

describe('host-gw with a peer that is not on-link', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('logs a clear error for that peer, skips it and keeps serving the others', async () => {
    const spec = { backend: 'host-gw', mode: 'v4' } as const;
    await cluster.putConfig(networkConfig(spec));
    // A lease from a host on another L2 network (no etcd lease: a reservation, still a peer).
    const farIP = '10.99.0.7';
    await cluster.etcdctl(['put', `${SUBNETS_PREFIX}10.5.200.0-24`, `{"PublicIP":"${farIP}","PublicIPv6":null,"BackendType":"host-gw"}`]);
    const facts: HostFacts[] = [];
    const pods: Pod[] = [];
    const agents: Agent[] = [];
    for (const i of [1, 2]) {
      const a = cluster.startAgent(i);
      agents.push(a);
      const env = await waitForSubnetEnv(a, 'v4');
      facts.push(await hostFacts(cluster, i, spec, env));
      pods.push(await addPod(cluster, i, `pod${i}`, env));
    }
    for (const a of agents) {
      const [line] = await a.waitForLog(/^.*10\.5\.200\.0\/24.*$/m);
      assert.match(line, /not on-link/);
      assert.ok(line.includes(farIP), line);
    }
    for (const i of [1, 2]) await waitForHostState(cluster, i, spec, expectedHostState(cluster, spec, i, facts));
    await pingAll(pods, [4]);
    assert.ok(agents.every((a) => a.running), 'agents keep running');
  });
});
