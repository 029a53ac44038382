/**
 * Migrating a host from Go flannel's cloud backends (aws-vpc, gce, tencent-vpc) to flannel-ts and
 * back. Host 1 and host 2 are Go flannel hosts: their leases as Go wrote them (go-flannel-cloud-
 * state.ts) and each one's route already in the cloud's route table (the API stand-in of
 * test/cloud, as a process in host 3); host 1 also has Go's subnet.env and chains. flannel-ts
 * starts on host 1: it keeps the lease (byte for byte) and the subnet, recognises both routes as
 * right (the stand-in counts API calls: no route created, replaced or deleted), keeps host 2's
 * route (a Go host still there), and on SIGTERM leaves lease, routes, subnet.env and chains as
 * Go flannel takes them back. Needs root.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import type { StandinInstance, StandinRoute } from '../cloud/ec2-standin.js';
import type { GceStandinState } from '../cloud/gce-standin.js';
import { startStandinProcess, type StandinProcess } from '../cloud/standin-process.js';
import type { TencentStandinState } from '../cloud/tencent-standin.js';
import { poll } from '../support/poll.js';
import { parseSubnetEnv } from './agent.js';
import { readLeases } from './datapath-checks.js';
import { goAwsRoute, goCloudLeaseValue, goCloudLeaseValueV014, goGceRoute, goTencentRoute } from './go-flannel-cloud-state.js';
import { assertGoChainsKept, etcdLeaseOf, flannelRuleLines, goChainLines, goLeaseKey, goSubnetEnv, layGoChains, putGoLease, writeGoSubnetEnv } from './go-flannel-state.js';
import { createCluster, type Cluster } from './harness.js';
import { readLink } from './kernel-state.js';
import { waitForRemoteLeases } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const NETWORK = IPNetwork.parse('10.5.0.0/16');
/** The subnets Go flannel gave host 1 (migrated) and host 2 (stays on Go flannel). */
const GO_SUBNETS = [IPNetwork.parse('10.5.77.0/24'), IPNetwork.parse('10.5.78.0/24')] as const;
const SUBNET_FILE = '/run/flannel/subnet.env';
/** The stand-in runs in this host. */
const API_HOST = 3;
/** Reconcile passes of flannel-ts watched after it found its route, none of which may write. */
const QUIET_PASSES = 3;

/** What a test needs of one cloud: its stand-in, how Go's route looks there, and which API calls write. */
interface CloudCase {
  readonly type: 'aws-vpc' | 'gce' | 'tencent-vpc';
  readonly module: string;
  options(cluster: Cluster): Record<string, string>;
  backend(api: StandinProcess): Record<string, unknown>;
  env(api: StandinProcess): Record<string, string>;
  /** Puts the route Go flannel on `host` created for its subnet. */
  addGoRoute(api: StandinProcess, cluster: Cluster, host: number, subnet: IPNetwork): Promise<void>;
  /** The routes inside NETWORK: destination -> target (and name, where the cloud names routes). */
  routes(api: StandinProcess): Promise<Map<string, string>>;
  /** The API calls made so far, by name. */
  calls(api: StandinProcess): Promise<Record<string, number>>;
  /** The call one reconcile pass reads the table with. */
  readonly listCall: string;
  /** The calls that change a table. */
  readonly writeCalls: readonly string[];
}

const inNetwork = (dst: string) => dst.startsWith('10.5.');

const AWS_TABLE = 'rtb-0b2b2b2b';
const AWS_KEY = 'AKIAMIGRATIONAWS0001';
const AWS_SECRET = 'migration-aws-secret-key-00001';
/** The ENI the EC2 stand-in gives the instance at `ip` (eni-0<hex of the address>). */
const eniOf = (ip: string) => `eni-0${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}`;
interface Ec2State {
  tables: { id: string; routes: StandinRoute[] }[];
  instances: StandinInstance[];
  counts: Record<string, number>;
}

const awsVpc: CloudCase = {
  type: 'aws-vpc',
  module: 'ec2-standin',
  options: () => ({ accessKeyId: AWS_KEY, secretAccessKey: AWS_SECRET, vpcCidr: '192.168.77.0/24' }),
  backend: () => ({}),
  env: (api) => ({
    AWS_ENDPOINT_URL_EC2: api.url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: api.url,
    AWS_ACCESS_KEY_ID: AWS_KEY,
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  }),
  addGoRoute: async (api, cluster, host, subnet) => {
    await api.control('POST', '/routes/add', goAwsRoute(AWS_TABLE, subnet, eniOf(cluster.hostAddress(host))));
  },
  routes: async (api) => {
    const table = (await api.control<Ec2State>('GET', '/state')).tables.find((t) => t.id === AWS_TABLE);
    return new Map((table?.routes ?? []).filter((r) => inNetwork(r.destination)).map((r) => [r.destination, `${r.target} ${r.state}`]));
  },
  calls: async (api) => (await api.control<Ec2State>('GET', '/state')).counts,
  listCall: 'DescribeRouteTables',
  writeCalls: ['CreateRoute', 'ReplaceRoute', 'DeleteRoute'],
};

const GCE_PROJECT = 'flannel-migration';
const GCE_ZONE = 'europe-west1-b';
const GCE_LINK = `https://www.googleapis.com/compute/v1/projects/${GCE_PROJECT}/`;
const GCE_NET = `${GCE_LINK}global/networks/default`;
const gceInstance = (i: number) => `${GCE_LINK}zones/${GCE_ZONE}/instances/host-${i}`;

const gce: CloudCase = {
  type: 'gce',
  module: 'gce-standin',
  options: (cluster) => ({
    project: GCE_PROJECT,
    instances: [1, 2, 3].map((i) => `host-${i}@${GCE_ZONE}@${cluster.hostAddress(i)}`).join(','),
    opStepMs: '50',
    waitMs: '2000',
  }),
  backend: (api) => ({ ComputeEndpoint: api.url }),
  env: (api) => ({ GCE_METADATA_HOST: `${api.address}:${api.port}`, CLOUDSDK_CONFIG: '/nonexistent/gcloud' }),
  addGoRoute: async (api, _cluster, host, subnet) => {
    await api.control('POST', '/routes/add', goGceRoute(subnet, GCE_NET, gceInstance(host)));
  },
  routes: async (api) =>
    new Map(
      (await api.control<GceStandinState>('GET', '/state')).routes
        .filter((r) => inNetwork(r.destRange))
        .map((r) => [r.destRange, `${r.name} ${r.nextHopInstance ?? '-'} ${r.network} ${r.priority} ${r.id}`]),
    ),
  calls: async (api) => (await api.control<GceStandinState>('GET', '/state')).calls,
  listCall: 'compute.routes.list',
  writeCalls: ['compute.routes.insert', 'compute.routes.delete'],
};

const TC_ID = 'AKIDmigrationtencent00000000000000';
const TC_KEY = 'migration-tencent-secret-key-001';

const tencentVpc: CloudCase = {
  type: 'tencent-vpc',
  module: 'tencent-standin',
  options: () => ({ secretId: TC_ID, secretKey: TC_KEY }),
  backend: () => ({}),
  env: (api) => ({ ACCESS_KEY_ID: TC_ID, ACCESS_KEY_SECRET: TC_KEY, TENCENTCLOUD_VPC_ENDPOINT: api.url, TENCENTCLOUD_METADATA_ENDPOINT: api.url }),
  addGoRoute: async (api, cluster, host, subnet) => {
    await api.control('POST', '/routes/add', goTencentRoute(subnet, cluster.hostAddress(host)));
  },
  routes: async (api) =>
    new Map(
      ((await api.control<TencentStandinState>('GET', '/state')).tables[0]?.routes ?? [])
        .filter((r) => inNetwork(r.DestinationCidrBlock))
        .map((r) => [r.DestinationCidrBlock, `${r.GatewayType} ${r.GatewayId} ${r.RouteType} ${r.Enabled} ${r.RouteId}`]),
    ),
  calls: async (api) => (await api.control<TencentStandinState>('GET', '/state')).calls,
  listCall: 'DescribeRouteTables',
  writeCalls: ['CreateRoutes', 'DeleteRoutes'],
};

/**
 * One cluster for cloud `c`; `goRelease` says how Go flannel wrote the leases: v0.15 and later
 * (v0.19 was the last with aws-vpc and gce) or v0.14 and before (no PublicIPv6).
 */
function describeCloudMigration(c: CloudCase, goRelease: 'v0.19' | 'v0.14' = 'v0.19'): void {
  const leaseValue = goRelease === 'v0.14' ? goCloudLeaseValueV014 : goCloudLeaseValue;
  describe(`migrating host 1 from Go flannel ${goRelease} to flannel-ts and back (${c.type})`, { skip, timeout: 40_000, concurrency: 1 }, () => {
    let cluster: Cluster;
    let api: StandinProcess;
    let goRoutes = new Map<string, string>();
    let goValues: [string, string][] = [];
    /** The leases once flannel-ts holds host 1's: Go's, but host 1's in the format flannel-ts (as Go v0.15+) writes. */
    let tsValues: [string, string][] = [];
    let goEnv = '';
    let measured = '';
    const subnetFile = () => join(cluster.hostDir(1), 'private', SUBNET_FILE);
    const writes = async () => {
      const calls = await c.calls(api);
      return Object.fromEntries(c.writeCalls.map((w) => [w, calls[w] ?? 0]));
    };
    const noWrites = Object.fromEntries(c.writeCalls.map((w) => [w, 0]));

    before(async () => {
      cluster = await createCluster({ hosts: 3, privateDirs: ['/run/flannel'] });
      api = await startStandinProcess(cluster, API_HOST, { module: c.module, options: c.options(cluster) });
      await cluster.putConfig({ Network: NETWORK.toString(), Backend: { Type: c.type, ...c.backend(api) } });
      // What Go flanneld on hosts 1 and 2 left: leases, routes; on host 1 also subnet.env and chains.
      for (const [k, subnet] of GO_SUBNETS.entries()) {
        const host = k + 1;
        const value = leaseValue(cluster.hostAddress(host));
        await putGoLease(cluster, subnet, value);
        goValues.push([goLeaseKey(subnet), value]);
        await c.addGoRoute(api, cluster, host, subnet);
      }
      goValues = goValues.sort(([a], [b]) => a.localeCompare(b));
      // From v0.14, host 1's value is re-put as Go v0.15+ writes it; v0.14 reads it back (encoding/json skips PublicIPv6).
      tsValues = goValues.map(([k, v]) => [k, k === goLeaseKey(GO_SUBNETS[0]) ? goCloudLeaseValue(cluster.hostAddress(1)) : v]);
      // Go's cloud backends report the interface's MTU.
      const mtu = (await readLink(cluster, 1, cluster.hostIface(1)))?.mtu ?? 1500;
      goEnv = goSubnetEnv(NETWORK, GO_SUBNETS[0], mtu, true);
      await writeGoSubnetEnv(subnetFile(), goEnv);
      await layGoChains(cluster, 1, NETWORK, GO_SUBNETS[0]);
      goRoutes = await c.routes(api);
      assert.equal(goRoutes.size, 2, 'both Go routes in the table');
      assert.deepEqual(await writes(), noWrites, 'no API call before flannel-ts starts');
    });

    after(async () => {
      if (measured) console.log(`# ${c.type} migration from ${goRelease}: ${measured}`);
      await cluster?.destroy();
    });

    it("flannel-ts takes over host 1: same lease and subnet, Go's routes recognised, none written or deleted", async () => {
      const t0 = Date.now();
      const agent = cluster.startAgent(1, { env: { ...c.env(api), FLANNEL_CLOUD_RESYNC_SEC: '0.5' }, args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
      await agent.waitForLog(/acquired lease/, { timeoutMs: 20_000 });
      // The start-up check of its own route: found in place, or put (which would be churn).
      const own = GO_SUBNETS[0].toString().replace(/\./g, '\\.');
      const placed = await agent.waitForLog(new RegExp(`route ${own} -> .* already in|route added to table \\S+: ${own} `), { timeoutMs: 20_000 });
      assert.match(placed[0], /already in/, "Go's route for host 1 recognised as this instance's");
      const found = Date.now() - t0;
      await waitForRemoteLeases(agent, 1, { timeoutMs: 5000 });
      // A few full passes over the table, with host 2's lease known, and still nothing written.
      const seen = (await c.calls(api))[c.listCall] ?? 0;
      await poll(async () => ((await c.calls(api))[c.listCall] ?? 0) >= seen + QUIET_PASSES || undefined, {
        what: `${QUIET_PASSES} more reconcile passes (${c.listCall})`,
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      const w = await writes();
      measured = `own route recognised ${found} ms after start; API writes after ${QUIET_PASSES}+ passes: ${JSON.stringify(w)}`;
      assert.deepEqual(w, noWrites, 'no route created, replaced or deleted');
      assert.deepEqual(await c.routes(api), goRoutes, "Go's routes (host 1's and host 2's) as they were");
      assert.deepEqual([...(await readLeases(cluster))].sort(([a], [b]) => a.localeCompare(b)), tsValues, `the same two leases, ${goRelease === 'v0.14' ? "host 2's" : "Go's"} values byte for byte`);
      assert.equal(parseSubnetEnv(await readFile(subnetFile(), 'utf8')).FLANNEL_SUBNET, '10.5.77.1/24', 'the same subnet');
      await assertGoChainsKept(cluster, 1, NETWORK, GO_SUBNETS[0]);
      assert.deepEqual(await agent.readErrors(), [], 'errors in the log of host 1');
    });

    it('rolls back: SIGTERM leaves the lease, both routes, subnet.env and the chains as Go flannel takes them', async () => {
      const agent = cluster.agents.find((a) => a.host === 1);
      assert.ok(agent);
      assert.equal(await agent.stop('SIGTERM'), 0, 'flannel-ts on host 1 exits 0 on SIGTERM');
      assert.deepEqual(await writes(), noWrites, 'nothing written on the way out');
      assert.deepEqual(await c.routes(api), goRoutes, 'both routes left in place');
      assert.deepEqual([...(await readLeases(cluster))].sort(([a], [b]) => a.localeCompare(b)), tsValues, "the leases in Go flannel's byte format");
      const lease = await etcdLeaseOf(cluster, goLeaseKey(GO_SUBNETS[0]));
      assert.ok(lease, 'the key is bound to an etcd lease (not a reservation)');
      assert.equal(lease.granted, 86_400, 'lease TTL 24 h');
      assert.deepEqual(parseSubnetEnv(await readFile(subnetFile(), 'utf8')), parseSubnetEnv(goEnv), 'subnet.env as Go flannel reads it');
      const want = goChainLines(NETWORK, GO_SUBNETS[0]);
      assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), want.nat);
      assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), want.filter);
    });
  });
}

// One cluster per cloud, side by side. gce's hosts are on v0.14 (gce existed there already): the
// lease format before PublicIPv6.
describe('migrating cloud-backend hosts from Go flannel (one cluster per cloud, concurrently)', { skip, concurrency: 3 }, () => {
  describeCloudMigration(awsVpc);
  describeCloudMigration(gce, 'v0.14');
  describeCloudMigration(tencentVpc);
});
