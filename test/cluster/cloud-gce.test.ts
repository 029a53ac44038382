/**
 * gce with three real agents (namespace hosts, real etcd) against the Compute API + metadata
 * server stand-in running as its own process in a fourth host (standin-host.ts), through the real
 * SDK: each agent is the instance whose address its metadata requests come from, takes its
 * service account's token from the metadata server, and gets its route `flannel-<subnet> ->
 * its instance`; a route deleted by hand comes back; a 10 s API outage is survived (agents up,
 * health served) and caught up; a host that leaves (its lease gone) loses its route; an instance
 * without the compute scope stops with exit 1. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStandinProcess, waitForRouteMap, type StandinProcess } from '../cloud/standin-process.js';
import type { GceStandinRoute, GceStandinState } from '../cloud/gce-standin.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { assertStaysUp, httpStatus, subnetKey, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const PROJECT = 'flannel-cluster';
const NETWORK = '10.248.0.0/16';
const LINK = `https://www.googleapis.com/compute/v1/projects/${PROJECT}/`;
const NET = `${LINK}global/networks/default`;
const ZONE = 'europe-west1-b';
const OUTSIDE = { name: 'flannel-172-16-5-0-24', destRange: '172.16.5.0/24', nextHopIp: '192.168.77.200' };
const HEALTH_PORT = 8472;

const instanceLink = (i: number) => `${LINK}zones/${ZONE}/instances/host-${i}`;

describe('gce: three hosts, real etcd, the Compute API stand-in in a namespace', { skip, timeout: 180_000 }, () => {
  let cluster: Cluster;
  let api: StandinProcess;
  let agents: Agent[] = [];
  let subnets: string[] = [];
  let noScope: Agent;

  const state = () => api.control<GceStandinState>('GET', '/state');
  const flannelRoutes = async () =>
    new Map((await state()).routes.filter((r: GceStandinRoute) => r.network === NET && r.destRange.startsWith('10.248.')).map((r) => [r.destRange, `${r.name} ${r.nextHopInstance ?? ''}`]));
  const expected = (n: number) => new Map(subnets.slice(0, n).map((s, k) => [s, `flannel-${s.replace(/[./]/g, '-')} ${instanceLink(k + 1)}`]));
  const waitRoutes = (want: Map<string, string>, what: string, timeoutMs = 30_000) =>
    waitForRouteMap(flannelRoutes, want, what, { timeoutMs, intervalMs: 100, signal: cluster.signal });

  before(async () => {
    cluster = await createCluster({ hosts: 4 });
    const instances = [1, 2, 3].map((i) => `host-${i}@${ZONE}@${cluster.hostAddress(i)}`);
    // Host 4 runs the stand-in and an agent whose instance lacks the compute scope.
    instances.push(`host-4@${ZONE}@${cluster.hostAddress(4)}@https://www.googleapis.com/auth/devstorage.read_only`);
    api = await startStandinProcess(cluster, 4, { module: 'gce-standin', options: { project: PROJECT, instances: instances.join(','), opStepMs: '50', waitMs: '2000' } });
    await api.control('POST', '/routes/add', OUTSIDE);
    await cluster.putConfig({ Network: NETWORK, Backend: { Type: 'gce', ComputeEndpoint: api.url } });
    const env = {
      GCE_METADATA_HOST: `${api.address}:${api.port}`,
      CLOUDSDK_CONFIG: '/nonexistent/gcloud',
      FLANNEL_CLOUD_RESYNC_SEC: '0.5',
    };
    agents = [1, 2, 3].map((i) => cluster.startAgent(i, { env, args: [`-healthz-port=${HEALTH_PORT}`, '-healthz-ip=127.0.0.1'] }));
    // Started with the others (loading the SDK takes seconds); it takes a lease, then must stop.
    noScope = cluster.startAgent(4, { env });
    subnets = (await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 90_000 })))).map((e) => subnetOf(e.FLANNEL_SUBNET));
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('puts one route per lease, flannel-<subnet> -> the host’s instance, and leaves the rest alone', async () => {
    assert.equal(new Set(subnets).size, 3);
    await waitRoutes(expected(3), 'a route per lease', 60_000);
    const s = await state();
    assert.ok(s.routes.some((r) => r.name === OUTSIDE.name && r.nextHopIp === OUTSIDE.nextHopIp), 'the route outside the cluster network stays');
    assert.ok(s.routes.filter((r) => r.destRange.startsWith('10.248.')).every((r) => r.priority === 1000));
    const value = await cluster.etcdctl(['get', '--print-value-only', subnetKey(subnets[0]!)]);
    assert.equal(value.trim(), `{"PublicIP":"${cluster.hostAddress(1)}","PublicIPv6":null}`);
    const log = await agents[0]!.readLog();
    assert.match(log, new RegExp(`project ${PROJECT}, zone ${ZONE}, instance host-1, network default`));
    assert.ok(!log.includes('ya29.'), 'no access token in the log');
  });

  it('a route deleted by hand comes back', async () => {
    await api.control('POST', '/routes/delete', { name: `flannel-${subnets[1]!.replace(/[./]/g, '-')}` });
    await waitRoutes(expected(3), 'the hand-deleted route back');
    await agents[1]!.waitForLog(/route put in table network default: .* \(was missing or pointed elsewhere\)/);
  });

  it('survives a 10 s API outage: agents up and healthy, routes caught up after it', async () => {
    await api.control('POST', '/fault', { kind: 'outage', ms: 10_000 });
    const t0 = Date.now();
    await api.control('POST', '/routes/delete', { name: `flannel-${subnets[0]!.replace(/[./]/g, '-')}` });
    await assertStaysUp(agents[0]!, 3000, 'the API outage');
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${HEALTH_PORT}/healthz`), 200);
    assert.equal((await flannelRoutes()).has(subnets[0]!), false, 'nothing can be put during the outage');
    await waitRoutes(expected(3), 'the route back after the outage', 40_000);
    assert.ok(Date.now() - t0 >= 9_000, 'caught up only once the API answered');
    assert.ok(agents.every((a) => a.running));
    const log = await agents[0]!.readLog();
    assert.match(log, /route reconcile failed/);
    assert.match(log, /caught up/);
  });

  it('a host that leaves (its lease gone) loses its route', async () => {
    await agents[2]!.stop();
    await cluster.etcdctl(['del', subnetKey(subnets[2]!)]);
    await waitRoutes(expected(2), 'the leaving host’s route gone');
    assert.ok((await state()).routes.some((r) => r.name === OUTSIDE.name));
  });

  it('an instance without the compute scope stops with exit 1 naming the call and the missing scope', async () => {
    assert.equal(await noScope.waitForExit({ timeoutMs: 90_000 }), 1);
    const log = await noScope.readLog();
    assert.match(log, /gce compute\.instances\.get .*PERMISSION_DENIED: Request had insufficient authentication scopes.*compute OAuth scope/);
    assert.ok(![...(await flannelRoutes()).values()].some((v) => v.endsWith(instanceLink(4))), 'no route to its instance');
  });
});
