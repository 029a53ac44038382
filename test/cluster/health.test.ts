/**
 * flanneld's /healthz and /readyz, probed with curl from inside the host namespaces: ready once
 * the lease is held; not ready, but alive and retrying, while etcd is unreachable at start or
 * while every subnet of the network is taken. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import { poll } from '../support/poll.js';
import type { Agent } from './agent.js';
import { createCluster, type Cluster } from './harness.js';
import { allocValue, assertStaysUp, countLines, etcdClient, hostRange, httpStatus, resetLeases, subnetKey, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const HOSTS = 2;
const PORT = 8471;
const CONFIG = { Network: '10.5.0.0/16', Backend: { Type: 'alloc' } };

describe('flanneld health endpoints', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let kv: EtcdHttpClient;

  before(async () => {
    cluster = await createCluster({ hosts: HOSTS });
    kv = etcdClient(cluster);
  });

  after(async () => {
    kv?.close();
    await cluster?.destroy();
  });

  beforeEach(async () => {
    if (!cluster.etcd.running) await cluster.etcd.restart();
    await resetLeases(cluster, cluster.agents, hostRange(HOSTS));
    await cluster.putConfig(CONFIG);
  });

  /** Waits until GET http://<ip>:PORT<path>, from inside host `from`, answers `status`. */
  const waitForStatus = (from: number, ip: string, path: string, status: number, timeoutMs = 5000) =>
    poll(async () => (await httpStatus(cluster, from, `http://${ip}:${PORT}${path}`)) === status, {
      what: `${path} on ${ip}:${PORT} to answer ${status} (from host ${from})`,
      timeoutMs,
      intervalMs: 100,
    });

  it('serves /healthz 200 and, once the lease is held, /readyz 200 (loopback and host address)', async () => {
    const a = cluster.startAgent(1, { args: [`-healthz-port=${PORT}`, '-healthz-ip=127.0.0.1'] });
    const b = cluster.startAgent(2, { args: [`-healthz-port=${PORT}`, `-healthz-ip=${cluster.hostAddress(2)}`] });
    await Promise.all([a.waitForSubnetFile(), b.waitForSubnetFile()]);
    await waitForStatus(1, '127.0.0.1', '/readyz', 200);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/healthz`), 200);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/nope`), 404);
    await waitForStatus(2, cluster.hostAddress(2), '/readyz', 200);
    assert.equal(await httpStatus(cluster, 2, `http://${cluster.hostAddress(2)}:${PORT}/healthz`), 200);
    // Bound to the host address only: reachable over the underlay, not on loopback.
    assert.equal(await httpStatus(cluster, 1, `http://${cluster.hostAddress(2)}:${PORT}/healthz`), 200);
    assert.equal(await httpStatus(cluster, 2, `http://127.0.0.1:${PORT}/healthz`), 0);
  });

  it('keeps running with /readyz 503 while etcd is unreachable at start, and gets ready once it is back', async () => {
    await cluster.etcd.stop();
    const a = cluster.startAgent(1, { args: [`-healthz-port=${PORT}`, '-healthz-ip=127.0.0.1'] });
    await waitForStatus(1, '127.0.0.1', '/healthz', 200);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/readyz`), 503);
    const retry = /failed to read network config \/coreos\.com\/network\/config: .*192\.168\.77\.2:2379.*; retrying/;
    await a.waitForLog(retry, { timeoutMs: 5000 });
    // Watch it for 4 s: it retries, with backoff (from 0.5 s, doubling), not in a tight loop.
    const t0 = Date.now();
    await assertStaysUp(a, 4000, 'etcd unreachable');
    const retries = countLines(await a.readLog(), retry);
    assert.ok(retries >= 3 && retries <= 7, `${retries} attempts in ${Date.now() - t0} ms`);
    assert.equal(a.running, true);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/readyz`), 503);

    await cluster.etcd.restart();
    await a.waitForSubnetFile({ timeoutMs: 15_000, fresh: true });
    await waitForStatus(1, '127.0.0.1', '/readyz', 200);
  });

  it('with every subnet taken: names the range, stays alive retrying with backoff, 503, then takes a freed subnet', async () => {
    await cluster.putConfig({ ...CONFIG, SubnetMin: '10.5.10.0', SubnetMax: '10.5.11.0' });
    const grant = await kv.grantLease(300);
    await kv.put(subnetKey('10.5.10.0/24'), allocValue('192.168.77.201'), { lease: grant.id });
    await kv.put(subnetKey('10.5.11.0/24'), allocValue('192.168.77.202'), { lease: grant.id });

    const a: Agent = cluster.startAgent(1, { args: [`-healthz-port=${PORT}`, '-healthz-ip=127.0.0.1'] });
    const full = /no free subnet left in \[10\.5\.10\.0, 10\.5\.11\.0\] of Network 10\.5\.0\.0\/16/;
    await a.waitForLog(full);
    const pid = a.pid;
    const t0 = Date.now();
    await waitForStatus(1, '127.0.0.1', '/healthz', 200);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/readyz`), 503);
    // Watch it for 4 s: alive, same process, few attempts (backoff from 0.5 s, doubling).
    await assertStaysUp(a, 4000, 'a full network');
    const attempts = countLines(await a.readLog(), full);
    assert.ok(attempts >= 2 && attempts <= 7, `${attempts} attempts in ${Date.now() - t0} ms`);
    assert.equal(a.pid, pid);
    assert.equal(await httpStatus(cluster, 1, `http://127.0.0.1:${PORT}/readyz`), 503);

    await kv.delete(subnetKey('10.5.11.0/24'));
    const env = await a.waitForSubnetFile({ timeoutMs: 20_000 });
    assert.equal(subnetOf(env.FLANNEL_SUBNET), '10.5.11.0/24');
    assert.equal((await kv.get(subnetKey('10.5.11.0/24')))?.value, allocValue(cluster.hostAddress(1)));
    await waitForStatus(1, '127.0.0.1', '/readyz', 200);
    await kv.revokeLease(grant.id);
  });
});
