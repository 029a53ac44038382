/**
 * aws-vpc with three real agents (namespace hosts, real etcd) against the EC2 + IMDS stand-in
 * running as its own process in a fourth host (standin-host.ts), through the real SDK: each
 * host's lease gets its route `subnet -> its ENI` in the subnet's route table; a route deleted by
 * hand comes back; a 10 s API outage is survived (agents up, health served) and caught up; a host
 * that leaves (its lease gone) loses its route; wrong credentials stop an agent with exit 1. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStandinProcess, waitForRouteMap, type StandinProcess } from '../cloud/standin-process.js';
import type { StandinInstance, StandinRoute } from '../cloud/ec2-standin.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { assertStaysUp, httpStatus, subnetKey, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const KEY = 'AKIACLUSTERAWSVPC001';
const SECRET = 'cluster-aws-vpc-secret-key-0001';
const NETWORK = '10.247.0.0/16';
const TABLE = 'rtb-0b2b2b2b';
const OUTSIDE = { destination: '172.16.5.0/24', target: 'pcx-0feed' };
const HEALTH_PORT = 8472;

interface Ec2State {
  tables: { id: string; routes: StandinRoute[] }[];
  instances: StandinInstance[];
  counts: Record<string, number>;
}

/** The ENI the stand-in gives the instance at `ip` (eni-0<hex of the address>). */
function eniOf(ip: string): string {
  return `eni-0${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}`;
}

describe('aws-vpc: three hosts, real etcd, the EC2 stand-in in a namespace', { skip, timeout: 180_000 }, () => {
  let cluster: Cluster;
  let api: StandinProcess;
  let agents: Agent[] = [];
  let subnets: string[] = [];
  let env: Record<string, string>;
  let wrongCreds: Agent;
  const WRONG = 'not-the-cluster-aws-secret-00001';

  const state = () => api.control<Ec2State>('GET', '/state');
  const tableRoutes = async (): Promise<StandinRoute[]> => (await state()).tables.find((t) => t.id === TABLE)?.routes ?? [];
  const flannelRoutes = async () => new Map((await tableRoutes()).filter((r) => r.destination.startsWith('10.247.')).map((r) => [r.destination, r.target]));
  const expected = (n: number) => new Map(subnets.slice(0, n).map((s, k) => [s, eniOf(cluster.hostAddress(k + 1))]));
  const waitRoutes = (want: Map<string, string>, what: string, timeoutMs = 20_000) =>
    waitForRouteMap(flannelRoutes, want, what, { timeoutMs, intervalMs: 100, signal: cluster.signal });

  before(async () => {
    cluster = await createCluster({ hosts: 4 });
    api = await startStandinProcess(cluster, 4, { module: 'ec2-standin', options: { accessKeyId: KEY, secretAccessKey: SECRET, vpcCidr: '192.168.77.0/24' } });
    await api.control('POST', '/routes/add', { table: TABLE, ...OUTSIDE });
    await cluster.putConfig({ Network: NETWORK, Backend: { Type: 'aws-vpc' } });
    env = {
      AWS_ENDPOINT_URL_EC2: api.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: api.url,
      AWS_ACCESS_KEY_ID: KEY,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      FLANNEL_CLOUD_RESYNC_SEC: '0.5',
    };
    agents = [1, 2, 3].map((i) => cluster.startAgent(i, { env, args: [`-healthz-port=${HEALTH_PORT}`, '-healthz-ip=127.0.0.1'] }));
    // Started with the others (loading the SDK takes seconds): an agent with a wrong secret, on the
    // stand-in's host. It takes a lease (as flannel, before the cloud), then must stop.
    wrongCreds = cluster.startAgent(4, { env: { ...env, AWS_SECRET_ACCESS_KEY: WRONG } });
    subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 60_000 })))).map((e) => subnetOf(e.FLANNEL_SUBNET));
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('puts one route per lease, subnet -> the host’s ENI, turns off source/dest checks, leaves the rest of the table alone', async () => {
    assert.equal(new Set(subnets).size, 3);
    await waitRoutes(expected(3), 'a route per lease');
    const s = await state();
    const routes = s.tables.find((t) => t.id === TABLE)!.routes;
    assert.ok(routes.some((r) => r.destination === OUTSIDE.destination && r.target === OUTSIDE.target), 'the route outside the network stays');
    assert.ok(routes.some((r) => r.target === 'local'), 'the VPC’s local route stays');
    assert.ok(!s.tables.find((t) => t.id === 'rtb-0a1a1a1a')!.routes.some((r) => r.destination.startsWith('10.247.')), 'the main table is not the subnet’s');
    for (let i = 1; i <= 3; i++) assert.equal(s.instances.find((x) => x.ip === cluster.hostAddress(i))?.sourceDestCheck, false, `host ${i} source/dest check off`);
    const value = await cluster.etcdctl(['get', '--print-value-only', subnetKey(subnets[0]!)]);
    assert.equal(value.trim(), `{"PublicIP":"${cluster.hostAddress(1)}","PublicIPv6":null}`);
    const log = await agents[0]!.readLog();
    assert.match(log, /found route table rtb-0b2b2b2b of subnet subnet-0standin/);
    assert.ok(!log.includes(SECRET), 'the secret is not logged');
  });

  it('a route deleted by hand comes back', async () => {
    await api.control('POST', '/routes/delete', { table: TABLE, destination: subnets[1] });
    await waitRoutes(expected(3), 'the hand-deleted route back');
    await agents[1]!.waitForLog(/route put in table rtb-0b2b2b2b: .* \(was missing or pointed elsewhere\)/);
  });

  it('survives a 10 s API outage: agents up and healthy, routes caught up after it', async () => {
    await api.control('POST', '/fault', { outageMs: 10_000 });
    const t0 = Date.now();
    await api.control('POST', '/routes/delete', { table: TABLE, destination: subnets[0] });
    await assertStaysUp(agents[0]!, 3000, 'the API outage');
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${HEALTH_PORT}/healthz`), 200);
    assert.equal((await flannelRoutes()).has(subnets[0]!), false, 'nothing can be put during the outage');
    await waitRoutes(expected(3), 'the route back after the outage', 30_000);
    assert.ok(Date.now() - t0 >= 9_000, 'caught up only once the API answered');
    assert.ok(agents.every((a) => a.running));
    const log = await agents[0]!.readLog();
    assert.match(log, /Unavailable/);
    assert.match(log, /caught up/);
  });

  it('a host that leaves (its lease gone) loses its route', async () => {
    await agents[2]!.stop();
    await cluster.etcdctl(['del', subnetKey(subnets[2]!)]);
    await waitRoutes(expected(2), 'the leaving host’s route gone');
    assert.ok((await tableRoutes()).some((r) => r.destination === OUTSIDE.destination));
  });

  it('wrong credentials stop an agent with exit 1 and the API’s AuthFailure, the secret not in the log', async () => {
    assert.equal(await wrongCreds.waitForExit({ timeoutMs: 60_000 }), 1);
    const log = await wrongCreds.readLog();
    assert.match(log, /aws-vpc DescribeRouteTables.*AuthFailure.*check the AWS credentials/);
    assert.ok(!log.includes(WRONG) && !log.includes(SECRET));
    assert.ok(![...(await flannelRoutes()).values()].includes(eniOf(cluster.hostAddress(4))), 'no route to its ENI');
  });
});
