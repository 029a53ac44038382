/**
 * `flanneld -cleanup`: after a vxlan host (with -ip-masq and forward rules) and a host-gw host
 * were running, cleanup removes the vxlan device, every route into the cluster network, the
 * FLANNEL-* chains and subnet.env, and leaves unrelated state alone. Needs root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { flanneldCommand } from '../support/implementation.js';
import { createCluster, type Cluster } from './harness.js';
import { linkNames, readRoutes } from './kernel-state.js';
import { poll } from '../support/poll.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const NETWORK = '10.6.0.0/16';

describe('flanneld -cleanup', { skip, timeout: 90_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
  });
  after(async () => {
    await cluster?.destroy();
  });

  const clusterRoutes = async (host: number) =>
    (await readRoutes(cluster, host, 4)).filter((r) => r.dst.startsWith('10.6.') && r.gateway !== undefined);

  for (const backend of ['vxlan', 'host-gw']) {
    it(`removes what a ${backend} agent made, and only that`, async () => {
      await cluster.putConfig({ Network: NETWORK, Backend: { Type: backend } });
      const [a, b] = [cluster.startAgent(1, { args: ['-ip-masq'] }), cluster.startAgent(2, { args: ['-ip-masq'] })];
      await a.waitForSubnetFile({ timeoutMs: 10_000 });
      await b.waitForSubnetFile({ timeoutMs: 10_000 });
      await poll(async () => (await clusterRoutes(1)).length === 1, { what: `host 1 route to host 2 (${backend})`, timeoutMs: 10_000 });
      assert.match((await cluster.exec(1, ['iptables-save'])).stdout, /FLANNEL-POSTRTG/);
      await cluster.exec(1, ['ip', 'route', 'add', '10.99.0.0/24', 'via', cluster.hostAddress(2)]);
      assert.equal(await a.stop(), 0);
      // Stopping keeps everything in place (a restart must not cut pods off).
      assert.equal((await clusterRoutes(1)).length, 1);

      const res = await cluster.exec(1, [...flanneldCommand(), '-cleanup', `-subnet-file=${a.subnetFile}`], { allowFailure: true });
      assert.equal(res.exitCode, 0, res.stderr);
      assert.deepEqual(await linkNames(cluster, 1, 'flannel'), []);
      assert.deepEqual(await clusterRoutes(1), []);
      const rules = (await cluster.exec(1, ['iptables-save'])).stdout;
      assert.doesNotMatch(rules, /FLANNEL-POSTRTG|FLANNEL-FWD|flanneld/);
      assert.equal(existsSync(a.subnetFile), false);
      assert.ok((await readRoutes(cluster, 1, 4)).some((r) => r.dst === '10.99.0.0/24'), 'an unrelated route survives');

      await cluster.exec(1, ['ip', 'route', 'del', '10.99.0.0/24']);
      await b.stop();
      await cluster.exec(2, [...flanneldCommand(), '-cleanup', `-subnet-file=${b.subnetFile}`]);
      await cluster.etcdctl(['del', '--prefix', '/coreos.com/network/subnets/']);
    });
  }

  it('with nothing to clean (no subnet.env, no devices) succeeds', async () => {
    const res = await cluster.exec(1, [...flanneldCommand(), '-cleanup', '-subnet-file=/nonexistent/subnet.env'], { allowFailure: true });
    assert.equal(res.exitCode, 0, res.stderr);
    assert.match(res.stderr, /no cluster network known/);
  });
});
