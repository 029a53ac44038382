/**
 * tencent-vpc with three real agents (namespace hosts, real etcd) against the Tencent API 3.0
 * stand-in running as its own process in a fourth host (standin-host.ts): each host's lease gets
 * its route `subnet -> NORMAL_CVM <host IP>` in the VPC's route table; a host that leaves (its
 * lease gone) loses its route; a route deleted by hand comes back. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStandinProcess, waitForRouteMap, type StandinProcess } from '../cloud/standin-process.js';
import type { TencentStandinRoute, TencentStandinState } from '../cloud/tencent-standin.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { subnetKey, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SECRET_ID = 'AKIDclustertencent0000000000000000';
const SECRET_KEY = 'cluster-tencent-secret-key-00001';
const NETWORK = '10.246.0.0/16';
const OUTSIDE = { DestinationCidrBlock: '192.168.200.0/24', GatewayType: 'NORMAL_CVM', GatewayId: '172.16.0.9' };

describe('tencent-vpc: three hosts, real etcd, the API stand-in in a namespace', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let api: StandinProcess;
  let agents: Agent[] = [];
  let subnets: string[] = [];

  const routesOf = async (): Promise<TencentStandinRoute[]> => (await api.control<TencentStandinState>('GET', '/state')).tables[0]?.routes ?? [];
  const flannelRoutes = async (): Promise<Map<string, string>> =>
    new Map((await routesOf()).filter((r) => r.DestinationCidrBlock.startsWith('10.246.')).map((r) => [r.DestinationCidrBlock, `${r.GatewayType} ${r.GatewayId}`]));
  const waitRoutes = (want: Map<string, string>, what: string) =>
    waitForRouteMap(flannelRoutes, want, what, { timeoutMs: 20_000, intervalMs: 50, signal: cluster.signal });

  before(async () => {
    cluster = await createCluster({ hosts: 4 });
    api = await startStandinProcess(cluster, 4, {
      module: 'tencent-standin',
      options: { secretId: SECRET_ID, secretKey: SECRET_KEY, seedRoutes: JSON.stringify([OUTSIDE]) },
    });
    await cluster.putConfig({ Network: NETWORK, Backend: { Type: 'tencent-vpc' } });
    const env = {
      // flannel's environment pair (no key in the network config, which every host can read).
      ACCESS_KEY_ID: SECRET_ID,
      ACCESS_KEY_SECRET: SECRET_KEY,
      TENCENTCLOUD_VPC_ENDPOINT: api.url,
      TENCENTCLOUD_METADATA_ENDPOINT: api.url,
      FLANNEL_CLOUD_RESYNC_SEC: '0.5',
    };
    agents = [1, 2, 3].map((i) => cluster.startAgent(i, { env }));
    subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 40_000 })))).map((e) => subnetOf(e.FLANNEL_SUBNET));
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('puts one route per lease, subnet -> NORMAL_CVM <host IP>, and leaves the rest of the table alone', async () => {
    assert.equal(new Set(subnets).size, 3);
    await waitRoutes(new Map(subnets.map((s, k) => [s, `NORMAL_CVM ${cluster.hostAddress(k + 1)}`])), 'a route per lease');
    const all = await routesOf();
    assert.ok(all.some((r) => r.DestinationCidrBlock === OUTSIDE.DestinationCidrBlock), 'the route outside the network stays');
    assert.ok(all.some((r) => r.RouteType === 'NETD'), 'the VPC\'s local route stays');
    const log = await agents[0]!.readLog();
    assert.match(log, /region ap-guangzhou, VPC vpc-flannel1/);
    assert.ok(!log.includes(SECRET_KEY), 'the secret is not logged');
  });

  it('a route deleted by hand comes back', async () => {
    await api.control('POST', '/routes/delete', { destination: subnets[1] });
    await waitRoutes(new Map(subnets.map((s, k) => [s, `NORMAL_CVM ${cluster.hostAddress(k + 1)}`])), 'the hand-deleted route back');
    await agents[1]!.waitForLog(/route put in table rtb-flannel1: .* \(was missing or pointed elsewhere\)/);
  });

  it('a host that leaves (its lease gone) loses its route', async () => {
    await agents[2]!.stop();
    await cluster.etcdctl(['del', subnetKey(subnets[2]!)]);
    await waitRoutes(new Map(subnets.slice(0, 2).map((s, k) => [s, `NORMAL_CVM ${cluster.hostAddress(k + 1)}`])), 'the leaving host\'s route gone');
    assert.ok((await routesOf()).some((r) => r.DestinationCidrBlock === OUTSIDE.DestinationCidrBlock));
  });

  it('a wrong key stops the agent with exit 1 and the API\'s AuthFailure code, the key not in the log', async () => {
    const wrong = 'not-the-cluster-secret-key-00001';
    const agent = cluster.startAgent(3, {
      env: { ACCESS_KEY_ID: SECRET_ID, ACCESS_KEY_SECRET: wrong, TENCENTCLOUD_VPC_ENDPOINT: api.url, TENCENTCLOUD_METADATA_ENDPOINT: api.url },
    });
    assert.equal(await agent.waitForExit({ timeoutMs: 40_000 }), 1);
    const log = await agent.readLog();
    assert.match(log, /tencent-vpc DescribeRouteTables: AuthFailure\.SignatureFailure/);
    assert.ok(!log.includes(wrong) && !log.includes(SECRET_KEY));
  });
});
