import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_METRICS, leaseFacts, peerMetricsOf } from '../../../src/metrics/agent-metrics.js';
import { createPromMetrics } from '../../../src/metrics/prom-metrics.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';

const BUILD = { version: '1.2.3', commit: 'abc1234', nodeVersion: 'v24.0.0' };

/** The value of one sample line `name{labels} value` of the text output. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('prom metrics', () => {
  it('renders build info and every metric family with HELP and TYPE in the text format', async () => {
    const m = createPromMetrics(BUILD);
    const text = await m.render();
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(text, 'flannel_build_info{version="1.2.3",commit="abc1234",node_version="v24.0.0"}'), 1);
    for (const [name, type] of [
      ['flannel_lease_held', 'gauge'],
      ['flannel_lease_expiry_seconds', 'gauge'],
      ['flannel_lease_renewals_total', 'counter'],
      ['flannel_lease_reacquisitions_total', 'counter'],
      ['flannel_remote_leases', 'gauge'],
      ['flannel_peers_programmed', 'gauge'],
      ['flannel_reconcile_runs_total', 'counter'],
      ['flannel_reconcile_duration_seconds', 'histogram'],
      ['flannel_reconcile_repairs_total', 'counter'],
      ['flannel_kernel_operations_total', 'counter'],
      ['flannel_store_requests_total', 'counter'],
      ['flannel_store_reconnects_total', 'counter'],
      ['flannel_store_watch_resumes_total', 'counter'],
      ['flannel_rule_resyncs_total', 'counter'],
      ['flannel_rule_restorations_total', 'counter'],
    ]) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    }
    // Nothing leaks in from prom-client's global registry (no default process metrics).
    assert.doesNotMatch(text, /^process_|^nodejs_/m);
  });

  it('records the lease held, its expiry counting down, renewals and re-acquisitions', async () => {
    let now = 1_000_000;
    const m = createPromMetrics(BUILD, () => now);
    const exp = new Date(now + 24 * 3600_000);
    m.leaseHeld({ subnets: ['10.5.1.0/24', 'fd00:5:1::/64'], expiration: exp });
    let text = await m.render();
    assert.equal(sample(text, 'flannel_lease_held{subnet="10.5.1.0/24"}'), 1);
    assert.equal(sample(text, 'flannel_lease_held{subnet="fd00:5:1::/64"}'), 1);
    assert.equal(sample(text, 'flannel_lease_expiry_seconds'), 86400);
    now += 3600_000;
    m.leaseRenewed({ subnets: ['10.5.1.0/24'], expiration: exp });
    m.leaseReacquired({ subnets: ['10.5.2.0/24'], expiration: new Date(now + 60_000) });
    text = await m.render();
    assert.equal(sample(text, 'flannel_lease_renewals_total'), 1);
    assert.equal(sample(text, 'flannel_lease_reacquisitions_total'), 1);
    assert.equal(sample(text, 'flannel_lease_held{subnet="10.5.2.0/24"}'), 1);
    assert.equal(sample(text, 'flannel_lease_held{subnet="10.5.1.0/24"}'), undefined, 'the old subnet is gone');
    assert.equal(sample(text, 'flannel_lease_expiry_seconds'), 60);
    m.leaseHeld({ subnets: ['10.5.2.0/24'] }); // a reservation: no expiry
    assert.equal(sample(await m.render(), 'flannel_lease_expiry_seconds'), 0);
  });

  it('records peers per backend and family, reconciles with a histogram, and labelled counters', async () => {
    const m = createPromMetrics(BUILD);
    const peers = peerMetricsOf(m, 'vxlan');
    peers.peersProgrammed('ipv4', 3);
    peers.peersProgrammed('ipv6', 0);
    peers.peersProgrammed('ipv4', 2);
    peers.reconcileRun(0.003, 0);
    peers.reconcileRun(0.2, 4);
    m.remoteLeases(2);
    m.kernelOp('route', 'ok');
    m.kernelOp('route', 'error');
    m.kernelOp('route', 'ok');
    m.storeRequest('etcd', 'ok');
    m.storeRequest('kube', 'error');
    m.storeReconnect('etcd');
    m.storeWatchResume('kube');
    m.ruleResync(0);
    m.ruleResync(2);
    const text = await m.render();
    assert.equal(sample(text, 'flannel_peers_programmed{backend="vxlan",family="ipv4"}'), 2);
    assert.equal(sample(text, 'flannel_peers_programmed{backend="vxlan",family="ipv6"}'), 0);
    assert.equal(sample(text, 'flannel_remote_leases'), 2);
    assert.equal(sample(text, 'flannel_reconcile_runs_total'), 2);
    assert.equal(sample(text, 'flannel_reconcile_repairs_total'), 4);
    assert.equal(sample(text, 'flannel_reconcile_duration_seconds_count'), 2);
    assert.equal(sample(text, 'flannel_reconcile_duration_seconds_bucket{le="0.005"}'), 1);
    assert.equal(sample(text, 'flannel_reconcile_duration_seconds_bucket{le="0.25"}'), 2);
    assert.equal(sample(text, 'flannel_reconcile_duration_seconds_bucket{le="+Inf"}'), 2);
    assert.equal(sample(text, 'flannel_kernel_operations_total{kind="route",result="ok"}'), 2);
    assert.equal(sample(text, 'flannel_kernel_operations_total{kind="route",result="error"}'), 1);
    assert.equal(sample(text, 'flannel_store_requests_total{store="etcd",result="ok"}'), 1);
    assert.equal(sample(text, 'flannel_store_requests_total{store="kube",result="error"}'), 1);
    assert.equal(sample(text, 'flannel_store_reconnects_total{store="etcd"}'), 1);
    assert.equal(sample(text, 'flannel_store_watch_resumes_total{store="kube"}'), 1);
    assert.equal(sample(text, 'flannel_rule_resyncs_total'), 2);
    assert.equal(sample(text, 'flannel_rule_restorations_total'), 2);
  });

  it('two instances do not share a registry', async () => {
    const a = createPromMetrics(BUILD);
    const b = createPromMetrics(BUILD);
    a.remoteLeases(7);
    assert.equal(sample(await b.render(), 'flannel_remote_leases'), 0);
  });
});

describe('NO_METRICS and leaseFacts', () => {
  it('NO_METRICS accepts every call and records nothing', () => {
    for (const fn of Object.values(NO_METRICS)) assert.equal((fn as (...a: unknown[]) => unknown)('x', 'y', 1), undefined);
    assert.ok(Object.isFrozen(NO_METRICS));
  });

  it('leaseFacts lists the subnets of both families and the expiry', () => {
    const expiration = new Date(5000);
    const lease = { subnet: IPNetwork.parse('10.5.3.0/24'), ipv6Subnet: IPNetwork.parse('fd00:5:3::/64'), expiration } as unknown as Parameters<typeof leaseFacts>[0];
    assert.deepEqual(leaseFacts(lease), { subnets: ['10.5.3.0/24', 'fd00:5:3::/64'], expiration });
  });
});
