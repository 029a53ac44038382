/**
 * flanneld's /metrics on the health port, scraped with curl from inside a host namespace: a
 * 2-host host-gw cluster shows the lease held, the peer programmed, reconciles and a repair
 * after a route deleted by hand; a removed peer brings the peer gauge down. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { poll } from '../support/poll.js';
import { networkConfig, waitForSubnetEnv } from './datapath-checks.js';
import { createCluster, type Cluster } from './harness.js';
import { subnetKey, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const PORT = 8472;
const SPEC = { backend: 'host-gw', mode: 'v4' } as const;

/** The value of the sample `series` (name with its labels, as printed) in a scrape, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('flanneld /metrics', { skip, timeout: 90_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const scrape = async (host: number): Promise<string> => {
    const res = await cluster.exec(host, ['curl', '-sf', '--max-time', '2', `http://127.0.0.1:${PORT}/metrics`], { timeoutMs: 5000 });
    return res.stdout;
  };
  /** Polls host's /metrics until `ok` holds for it; returns that scrape. */
  const scrapeUntil = async (host: number, what: string, ok: (text: string) => boolean): Promise<string> => {
    let last = '';
    await poll(async () => ok((last = await scrape(host))), { what, timeoutMs: 10_000, intervalMs: 200 }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast scrape:\n${last}`);
    });
    return last;
  };

  it('shows the lease, the peer programmed, reconciles and repairs; a removed peer lowers the gauge', async () => {
    await cluster.putConfig(networkConfig(SPEC));
    const args = [`-healthz-port=${PORT}`, '-healthz-ip=127.0.0.1'];
    const a = cluster.startAgent(1, { args });
    const b = cluster.startAgent(2, { args });
    const [envA, envB] = await Promise.all([waitForSubnetEnv(a, 'v4'), waitForSubnetEnv(b, 'v4')]);
    const subA = subnetOf(envA.FLANNEL_SUBNET);
    const subB = subnetOf(envB.FLANNEL_SUBNET);
    const peers = 'flannel_peers_programmed{backend="host-gw",family="ipv4"}';

    let text = await scrapeUntil(1, 'host 1 to show its peer programmed', (t) => sample(t, peers) === 1);
    assert.match(text, /^# TYPE flannel_peers_programmed gauge$/m);
    assert.match(text, /^flannel_build_info\{version="[^"]+",commit="[^"]*",node_version="v\d+\.\d+\.\d+"\} 1$/m);
    assert.equal(sample(text, `flannel_lease_held{subnet="${subA}"}`), 1);
    const expiry = sample(text, 'flannel_lease_expiry_seconds') ?? 0;
    assert.ok(expiry > 23 * 3600 && expiry <= 24 * 3600, `lease expiry ${expiry} s`);
    assert.equal(sample(text, 'flannel_remote_leases'), 1);
    assert.equal(sample(text, peers.replace('ipv4', 'ipv6')), 0);
    assert.ok((sample(text, 'flannel_reconcile_runs_total') ?? 0) >= 1, 'the initial reconcile ran');
    assert.ok((sample(text, 'flannel_reconcile_duration_seconds_count') ?? 0) >= 1);
    assert.equal(sample(text, 'flannel_reconcile_repairs_total'), 0, 'nothing repaired yet');
    assert.ok((sample(text, 'flannel_kernel_operations_total{kind="replaceRoutes",result="ok"}') ?? 0) >= 1, 'the peer route was put');
    const other = await scrape(2);
    assert.equal(sample(other, `flannel_lease_held{subnet="${subB}"}`), 1);

    // A route deleted by hand: the kernel event's reconcile puts it back, and counts it.
    await cluster.exec(1, ['ip', 'route', 'del', subB]);
    text = await scrapeUntil(1, 'a repair to be counted', (t) => (sample(t, 'flannel_reconcile_repairs_total') ?? 0) >= 1);
    assert.ok((sample(text, 'flannel_reconcile_runs_total') ?? 0) >= 2);
    assert.equal(sample(text, peers), 1);

    // Host 2 goes and its lease is deleted: host 1 no longer programs a peer.
    await b.stop();
    await cluster.etcdctl(['del', subnetKey(subB)]);
    text = await scrapeUntil(1, 'the peer gauge to drop to 0', (t) => sample(t, peers) === 0);
    assert.equal(sample(text, 'flannel_remote_leases'), 0);
    assert.equal(sample(text, `flannel_lease_held{subnet="${subA}"}`), 1);
    assert.ok(a.running);
  });
});
