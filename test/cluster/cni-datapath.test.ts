/**
 * End to end with the CNI plugin: three hosts running flanneld (vxlan, host-gw; -ip-masq, so the
 * bridge delegate does no masquerading of its own), two pods per host attached by bin/flannel
 * run inside each host's namespace, every pod pinging every other across hosts; CHECK passes on
 * every pod; after DEL a pod's interface is gone and it is no longer reachable. Needs root and
 * the bridge and host-local plugins.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { families, networkConfig, waitForSubnetEnv, type DatapathSpec } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { attachCniPod, checkCniPod, CNI_BIN_DIR, detachCniPod, type CniPod } from './cni-pods.js';
import { pingAll, pingOnce, podIp } from './pod-traffic.js';

const HOSTS = [1, 2, 3] as const;
const PODS_PER_HOST = 2;
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(`${CNI_BIN_DIR}/bridge`) ? `needs ${CNI_BIN_DIR}/bridge` : false;

const SPECS: DatapathSpec[] = [
  { backend: 'vxlan', mode: 'v4' },
  { backend: 'host-gw', mode: 'v4' },
  { backend: 'vxlan', mode: 'dual' },
];

for (const spec of SPECS) {
  describe(`CNI pods over ${spec.backend} (${spec.mode})`, { skip, timeout: 90_000 }, () => {
    let cluster: Cluster;
    const pods: CniPod[] = [];
    let agents: Agent[] = [];

    before(async () => {
      cluster = await createCluster({ hosts: HOSTS.length, ipv6: spec.mode !== 'v4' });
      await cluster.putConfig(networkConfig(spec));
      agents = HOSTS.map((i) => cluster.startAgent(i, { args: ['-ip-masq'] }));
      await Promise.all(agents.map((a) => waitForSubnetEnv(a, spec.mode)));
      for (const i of HOSTS) for (let k = 1; k <= PODS_PER_HOST; k++) pods.push(await attachCniPod(cluster, i, `h${i}pod${k}`));
    });

    after(async () => {
      await cluster?.destroy();
    });

    it('gives each pod an address of its host, the MTU of subnet.env, and a passing CHECK', async () => {
      const mtu = spec.backend === 'host-gw' ? 1500 : spec.mode === 'v4' ? 1450 : 1430;
      for (const p of pods) {
        assert.equal(p.mtu, mtu, `${p.name} MTU`);
        for (const f of families(spec.mode)) assert.ok(f === 4 ? p.v4 : p.v6, `${p.name} has an IPv${f} address`);
        await checkCniPod(cluster, p);
      }
      const subnets = new Set(pods.map((p) => p.v4?.subnet ?? p.v6?.subnet));
      assert.equal(subnets.size, HOSTS.length, 'one subnet per host');
    });

    it('every pod reaches every other pod, across hosts', async () => {
      await pingAll(pods, families(spec.mode));
    });

    it('each agent, once ready, released the pages its start-up used (the pages addon loads and the kernel takes the advice)', async () => {
      for (const a of agents) {
        await a.waitForLog(/released cold pages: resident [\d.]+ -> [\d.]+ MiB \(\d+ file mappings\)/, { timeoutMs: 15_000 });
        assert.equal(a.running, true);
      }
    });

    it('after DEL a pod is gone and no longer reachable', async () => {
      const gone = pods[pods.length - 1];
      const from = pods[0];
      assert.ok(gone && from);
      await detachCniPod(cluster, gone);
      const { stdout } = await gone.exec(['ip', '-j', 'link', 'show']);
      assert.deepEqual((JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname), ['lo']);
      assert.equal(await pingOnce(from, podIp(gone, families(spec.mode)[0] ?? 4)), false);
      await pingAll(pods.slice(0, -1), families(spec.mode));
    });
  });
}
