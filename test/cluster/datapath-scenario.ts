/**
 * The end-to-end data-path suite for one backend and address mode: three hosts with one agent
 * and one pod each; flannel's kernel state on every host, Go flannel's lease values, every pod
 * reaching every other, an iperf3 transfer (IPv4), and a removed host's entries disappearing
 * from the others. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  deleteLease,
  describeSpec,
  expectedHostState,
  expectedLeaseValue,
  families,
  hostFacts,
  leaseKeyOf,
  networkConfig,
  readLeases,
  vxlanDevice,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
} from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { linkNames, readAddresses, readLink } from './kernel-state.js';
import { iperf, pingAll } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';

const HOSTS = [1, 2, 3] as const;
const skip = process.getuid?.() !== 0 ? 'needs root' : false;

export interface ScenarioOptions {
  /** Run an iperf3 transfer pod 1 -> pod 2 (IPv4 only). */
  readonly iperf?: boolean;
}

export function describeDatapath(spec: DatapathSpec, opts: ScenarioOptions = {}): void {
  describe(describeSpec(spec), { skip, timeout: 60_000 }, () => {
    let cluster: Cluster;
    const agents: Agent[] = [];
    const pods: Pod[] = [];
    const facts: HostFacts[] = [];
    const fams = families(spec.mode);

    before(async () => {
      cluster = await createCluster({ hosts: HOSTS.length, ipv6: spec.mode !== 'v4' });
      await cluster.putConfig(networkConfig(spec));
      // One after the other: these suites are about the data path, not about agents racing for
      // subnets (dual-stack agents starting together can be handed the same IPv4 subnet).
      const envs: Record<string, string>[] = [];
      for (const i of HOSTS) {
        const a = cluster.startAgent(i);
        agents.push(a);
        envs.push(await waitForSubnetEnv(a, spec.mode));
      }
      const subnets = envs.flatMap((e) => [e.FLANNEL_SUBNET, e.FLANNEL_IPV6_SUBNET].filter((x) => x !== undefined));
      assert.equal(new Set(subnets).size, subnets.length, `distinct subnets: ${subnets.join(' ')}`);
      for (const i of HOSTS) {
        const env = envs[i - 1] ?? {};
        pods.push(await addPod(cluster, i, `pod${i}`, env));
        facts.push(await hostFacts(cluster, i, spec, env));
      }
    });

    after(async () => {
      await cluster?.destroy();
    });

    it("programs flannel's kernel state on every host", async () => {
      for (const i of HOSTS) await waitForHostState(cluster, i, spec, expectedHostState(cluster, spec, i, facts));
      for (const i of HOSTS) {
        const names = await linkNames(cluster, i, 'flannel');
        if (spec.backend === 'host-gw') {
          assert.deepEqual(names, [], `host ${i}: host-gw makes no flannel device`);
          continue;
        }
        assert.deepEqual(names.sort(), fams.map((f) => vxlanDevice(f)).sort(), `host ${i}: vxlan devices`);
        for (const f of fams) {
          const link = await readLink(cluster, i, vxlanDevice(f));
          assert.ok(link, `host ${i}: ${vxlanDevice(f)}`);
          const own = f === 4 ? facts[i - 1]?.net4 : facts[i - 1]?.net6;
          assert.ok(own);
          assert.equal(link.kind, 'vxlan');
          assert.ok(link.flags.includes('UP'), `${vxlanDevice(f)} is up`);
          assert.equal(link.mtu, f === 4 ? 1450 : 1430, `host ${i}: ${vxlanDevice(f)} MTU`);
          assert.deepEqual(
            { id: link.data.id, port: link.data.port, learning: link.data.learning, link: link.data.link, local: link.data[f === 4 ? 'local' : 'local6'] },
            { id: 1, port: 8472, learning: false, link: cluster.hostIface(i), local: f === 4 ? cluster.hostAddress(i) : cluster.hostAddress6(i) },
            `host ${i}: ${vxlanDevice(f)} attributes`,
          );
          assert.deepEqual(await readAddresses(cluster, i, vxlanDevice(f), f), [`${own.ip.toString()}/${f === 4 ? 32 : 128}`]);
        }
      }
    });

    it("writes the leases in Go flannel's exact format", async () => {
      const leases = await readLeases(cluster);
      const want = new Map(facts.map((f) => [leaseKeyOf(f), expectedLeaseValue(spec, f)]));
      assert.deepEqual(leases, want);
    });

    it('subnet.env carries the MTU pods need', async () => {
      const want = spec.backend === 'host-gw' ? 1500 : fams.includes(6) ? 1430 : 1450;
      for (const p of pods) assert.equal(p.mtu, want, `FLANNEL_MTU of host ${p.host}`);
    });

    it('every pod reaches every other pod', async () => {
      await pingAll(pods, fams);
    });

    if (opts.iperf && fams.includes(4)) {
      it('carries an iperf3 transfer pod to pod', async () => {
        const [a, b] = pods;
        assert.ok(a && b);
        const r = await iperf(a, b, 4, 2);
        assert.ok(r.bytes > 0 && r.bitsPerSecond > 0, `iperf3 moved ${r.bytes} bytes at ${r.bitsPerSecond} bit/s`);
      });
    }

    it('logs no errors', async () => {
      for (const a of agents) {
        const errors = (await a.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
        assert.deepEqual(errors, [], `errors in the log of host ${a.host}`);
      }
    });

    it("removes a removed host's routes, neighbours and FDB entries from every other host", async () => {
      const gone = facts[2];
      assert.ok(gone);
      await agents[2]?.kill();
      assert.equal(await deleteLease(cluster, gone), 1, `lease ${leaseKeyOf(gone)} deleted`);
      const left = facts.slice(0, 2);
      for (const i of [1, 2]) await waitForHostState(cluster, i, spec, expectedHostState(cluster, spec, i, left));
      await pingAll(pods.slice(0, 2), fams);
    });
  });
}
