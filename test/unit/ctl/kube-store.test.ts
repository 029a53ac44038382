/** flannelctl in kube mode through flannel-ts's own Kubernetes client, against the stand-in API server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeFixture, peerAnnotations, PREFIX } from '../subnet/kube/kube-fixture.js';
import { runCtl } from './ctl-run.js';

describe('flannelctl (kube mode, stand-in API server)', () => {
  let fx: KubeFixture;
  const now = Date.parse('2026-12-03T12:00:00Z');
  const ready = (status: string, since: string) => ({ conditions: [{ type: 'Ready', status, lastTransitionTime: since }] });

  before(async () => {
    fx = await KubeFixture.start();
    fx.server.store.create({ name: 'a', podCIDR: '10.244.1.0/24', annotations: peerAnnotations('192.168.1.1', '5a:00:00:00:00:01'), status: ready('True', '2026-12-01T00:00:00Z') });
    fx.server.store.create({ name: 'b', podCIDR: '10.244.2.0/24', annotations: { ...peerAnnotations('192.168.1.2', '5a:00:00:00:00:02'), [`${PREFIX}public-ip-overwrite`]: '10.9.9.9' }, status: ready('False', '2026-12-03T09:00:00Z') });
    fx.server.store.create({ name: 'c', status: ready('True', '2026-12-01T00:00:00Z') });
  });
  after(() => fx?.close());

  const flags = () => ['-kube-subnet-mgr', `-kubeconfig-file=${fx.kubeconfigPath}`, `-net-config-path=${fx.netConfPath}`];

  it('leases: each node\'s lease from its annotations and podCIDR, json with the Ready condition', async () => {
    const r = await runCtl(['leases', ...flags()], { store: 'real', now });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^10\.244\.1\.0\/24\s+-\s+192\.168\.1\.1\s+-\s+vxlan\s+VNI=1 VtepMAC=5a:00:00:00:00:01\s+-\s+a$/m);
    assert.match(r.out, /^10\.244\.2\.0\/24\s+-\s+10\.9\.9\.9\s+.* b$/m, 'the overwrite annotation wins, as in flanneld');
    assert.match(r.out, /^not a lease: c: /m);
    assert.match(r.out, new RegExp(`^2 leases in kube \\(${fx.server.url.replace(/[.]/g, '\\.')}\\)$`, 'm'));
    const j = JSON.parse((await runCtl(['leases', '-o', 'json', ...flags()], { store: 'real', now })).out) as { leases: { node: string; ready: unknown }[] };
    assert.deepEqual(j.leases.map((l) => [l.node, l.ready]), [
      ['a', { status: 'True', since: '2026-12-01T00:00:00.000Z' }],
      ['b', { status: 'False', since: '2026-12-03T09:00:00.000Z' }],
    ]);
  });

  it('config get reads net-conf.json; reserve is refused', async () => {
    const g = await runCtl(['config', 'get', ...flags()], { store: 'real' });
    assert.equal(g.code, 0, g.err);
    assert.deepEqual(JSON.parse(g.out), { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    const r = await runCtl(['reserve', 'rm', '10.244.2.0/24', ...flags()], { store: 'real' });
    assert.equal(r.code, 1);
    assert.match(r.err, /kube mode has no reservations/);
  });

  it('leases gc -apply removes flannel\'s annotations of a node NotReady for longer than the threshold (PATCH nodes/status)', async () => {
    const dry = await runCtl(['leases', 'gc', '-older-than', '2h', ...flags()], { store: 'real', now });
    assert.match(dry.out, /^10\.244\.2\.0\/24\s+10\.9\.9\.9\s+b\s+3h\s+node Ready=False since 2026-12-03T09:00:00.000Z\s+would remove$/m);
    assert.equal(fx.annotations('b')[`${PREFIX}kube-subnet-manager`], 'true');
    const apply = await runCtl(['leases', 'gc', '-older-than', '2h', '-apply', ...flags()], { store: 'real', now });
    assert.equal(apply.code, 0, apply.err);
    assert.match(apply.out, /^1 removed /m);
    assert.deepEqual(fx.annotations('b'), { [`${PREFIX}public-ip-overwrite`]: '10.9.9.9' }, 'only the operator\'s overwrite is left');
    assert.equal(fx.annotations('a')[`${PREFIX}kube-subnet-manager`], 'true');
    const after_ = await runCtl(['leases', ...flags()], { store: 'real', now });
    assert.match(after_.out, /^1 lease in kube/m);
  });

  it('a kubeconfig that does not exist: exit 2 naming the flag and file', async () => {
    const r = await runCtl(['leases', '-kube-subnet-mgr', '-kubeconfig-file=/nonexistent/kubeconfig'], { store: 'real' });
    assert.equal(r.code, 2);
    assert.match(r.err, /-kubeconfig-file.*\/nonexistent\/kubeconfig/);
  });
});
