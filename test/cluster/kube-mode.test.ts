/**
 * End to end in kube mode: three namespace hosts running flanneld -kube-subnet-mgr with vxlan
 * against the stand-in API server at 192.168.77.3:6443 (no etcd), each node given a podCIDR
 * (IPv4, then dual stack with spec.podCIDRs).
 * Pods on every host reach each other; each node carries flannel's annotations with its real
 * VTEP MAC and NetworkUnavailable=False; a node deleted from the API loses its peers' routes;
 * a watch cut and a 410 do not stop a node added afterwards from becoming a peer. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { poll } from '../support/poll.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { readLink, readRoutes, routeLine, type Family } from './kernel-state.js';
import { kubeAgentArgs, startClusterKubeApi, type ClusterKubeApi } from './kube-api-node.js';
import { pingAll } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const P = 'flannel.alpha.coreos.com/';
const podCIDR = (i: number) => `10.244.${i}.0/24`;
const podCIDR6 = (i: number) => `fc00:44:0:${i}::/64`;

describeKubeMode(false);
describeKubeMode(true);

function describeKubeMode(dual: boolean): void {
  const fams: Family[] = dual ? [4, 6] : [4];
  const cidrs = (i: number) => (dual ? [podCIDR(i), podCIDR6(i)] : [podCIDR(i)]);
  const netConf = dual
    ? { Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00:44::/48', Backend: { Type: 'vxlan' } }
    : { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };
  describe(`kube mode, vxlan, three hosts, ${dual ? 'dual stack' : 'IPv4'}`, { skip, timeout: 90_000 }, () => {
    let cluster: Cluster;
    let api: ClusterKubeApi;
    const agents: Agent[] = [];
    const pods: Pod[] = [];

    const start = (i: number) => {
      const a = cluster.startAgent(i, { args: kubeAgentArgs(api), env: { NODE_NAME: `node-${i}` } });
      agents.push(a);
      return a;
    };

    before(async () => {
      cluster = await createCluster({ hosts: 3, etcd: false, ipv6: dual });
      api = await startClusterKubeApi(cluster);
      await api.writeNetConf(netConf);
      for (const i of [1, 2, 3]) api.server.store.create({ name: `node-${i}`, podCIDRs: cidrs(i), status: { conditions: [{ type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' }] } });
      const envs = await Promise.all([1, 2, 3].map((i) => start(i).waitForSubnetFile({ timeoutMs: 20_000 })));
      for (const i of [1, 2, 3]) pods.push(await addPod(cluster, i, `pod${i}`, envs[i - 1] ?? {}));
    });

    after(async () => {
      await cluster?.destroy();
    });

    it('writes subnet.env from each node podCIDR', async () => {
      for (const a of agents) {
        const env = await a.waitForSubnetFile();
        assert.equal(env.FLANNEL_NETWORK, '10.244.0.0/16');
        assert.equal(env.FLANNEL_SUBNET, `10.244.${a.host}.1/24`);
        assert.equal(env.FLANNEL_MTU, dual ? '1430' : '1450');
        if (dual) assert.equal(env.FLANNEL_IPV6_SUBNET, `fc00:44:0:${a.host}::1/64`);
      }
    });

    it("publishes flannel's annotations with each host's VTEP MAC and clears NetworkUnavailable", async () => {
      for (const i of [1, 2, 3]) {
        const link = await readLink(cluster, i, 'flannel.1');
        assert.ok(link, `flannel.1 on host ${i}`);
        const node = api.server.store.get(`node-${i}`);
        const ours = Object.fromEntries(Object.entries(node?.metadata.annotations ?? {}).filter(([k]) => k.startsWith(P)));
        const want: Record<string, string> = {
          [`${P}backend-data`]: `{"VNI":1,"VtepMAC":"${link.address}"}`,
          [`${P}backend-type`]: 'vxlan',
          [`${P}kube-subnet-manager`]: 'true',
          [`${P}public-ip`]: cluster.hostAddress(i),
        };
        if (dual) {
          const link6 = await readLink(cluster, i, 'flannel-v6.1');
          assert.ok(link6, `flannel-v6.1 on host ${i}`);
          want[`${P}backend-v6-data`] = `{"VNI":1,"VtepMAC":"${link6.address}"}`;
          want[`${P}public-ipv6`] = cluster.hostAddress6(i);
        }
        assert.deepEqual(ours, want);
        await poll(() => api.server.store.get(`node-${i}`)?.status?.conditions?.find((c) => c['type'] === 'NetworkUnavailable')?.['status'] === 'False', {
          what: `NetworkUnavailable=False on node-${i}`,
        });
      }
    });

    it('every pod reaches every other pod', async () => {
      await pingAll(pods, fams, 15_000);
    });

    it('one list and one watch per agent, no per-node requests', () => {
      assert.equal(api.server.count('list', 'nodes'), 3);
      assert.equal(api.server.count('watch', 'nodes'), 3);
      assert.equal(api.server.count('get', 'nodes'), 0);
    });

    it('a node deleted from the API stops being a peer (its routes go)', async () => {
      api.server.store.delete('node-3');
      for (const i of [1, 2]) {
        await poll(async () => !(await readRoutes(cluster, i, 4)).some((r) => r.dst === podCIDR(3)), { what: `route to ${podCIDR(3)} gone on host ${i}`, timeoutMs: 10_000 });
      }
      await pingAll(pods.slice(0, 2), fams, 10_000);
    });

    it('after a cut watch and a 410, a node that comes back becomes a peer again', async () => {
      api.server.failNextWatches(3, 'expired');
      api.server.dropWatches();
      api.server.compact();
      // node-3 re-registers (as a kubelet would); its agent notices its own node and re-publishes.
      api.server.store.create({ name: 'node-3', podCIDRs: cidrs(3) });
      for (const i of [1, 2]) {
        await poll(async () => (await readRoutes(cluster, i, 4)).some((r) => r.dst === podCIDR(3)), { what: `route to ${podCIDR(3)} back on host ${i}`, timeoutMs: 20_000 });
        const routes = (await readRoutes(cluster, i, 4)).filter((r) => r.dst === podCIDR(3)).map(routeLine);
        assert.deepEqual(routes, [`${podCIDR(3)} via 10.244.3.0 dev flannel.1 onlink`]);
      }
      await pingAll(pods, fams, 15_000);
      assert.ok(api.server.count('list', 'nodes') >= 6, 'every agent re-listed after the 410');
    });
  });
}
