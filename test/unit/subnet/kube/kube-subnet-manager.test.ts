/**
 * The kube subnet manager against the stand-in API server, through the real client library.
 * No root needed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, StoreError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { leaseKey, type Lease } from '../../../../src/lease/lease.js';
import { KUBE_API_CALLS, KubeErrorCode } from '../../../../src/subnet/kube/kube-api.js';
import type { LeaseWatchResult } from '../../../../src/subnet/subnet-manager.js';
import { KubeFixture, PREFIX, WatchReader, peerAnnotations, vxlanAttrs } from './kube-fixture.js';

const hasEvent = (type: 'added' | 'removed', subnet: string, check: (l: Lease) => boolean = () => true) => (r: LeaseWatchResult) =>
  r.kind === 'events' && r.events.some((e) => e.type === type && e.lease.subnet?.toString() === subnet && check(e.lease));
const snapshotWith = (subnets: string[]) => (r: LeaseWatchResult) =>
  r.kind === 'snapshot' && subnets.every((s) => r.leases.some((l) => l.subnet?.toString() === s));

describe('KubeSubnetManager: publishing the lease', () => {
  let fx: KubeFixture;
  before(async () => (fx = await KubeFixture.start()));
  after(async () => fx.close());

  it("writes exactly flannel's annotation keys and value formats, through nodes/status", async () => {
    fx.server.store.create({ name: 'n1', podCIDR: '10.244.1.0/24', annotations: { 'other.io/keep': 'x' } });
    const sm = await fx.manager('n1');
    const lease = await sm.acquireLease(vxlanAttrs('192.168.77.11'), { signal: AbortSignal.timeout(5000) });
    assert.equal(lease.subnet?.toString(), '10.244.1.0/24');
    assert.equal(lease.ipv6Subnet, undefined);
    assert.equal(lease.expiration, undefined, 'kube leases do not expire');
    assert.deepEqual(fx.annotations('n1'), {
      'other.io/keep': 'x',
      [`${PREFIX}backend-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:80"}',
      [`${PREFIX}backend-type`]: 'vxlan',
      [`${PREFIX}kube-subnet-manager`]: 'true',
      [`${PREFIX}public-ip`]: '192.168.77.11',
    });
    const patches = fx.server.requests.filter((r) => r.verb === 'patch');
    assert.equal(patches.length, 1);
    assert.equal(patches[0]?.resource, 'nodes/status');
    assert.equal(patches[0]?.contentType, 'application/strategic-merge-patch+json');
  });

  it('patches only when something changed (a second acquire and a restarted agent send nothing)', async () => {
    const before = fx.server.count('patch', 'nodes/status');
    const sm = fx.managers[0];
    assert.ok(sm);
    await sm.acquireLease(vxlanAttrs('192.168.77.11'), {});
    const restarted = await fx.manager('n1');
    await restarted.acquireLease(vxlanAttrs('192.168.77.11'), {});
    assert.equal(fx.server.count('patch', 'nodes/status'), before);
    // A new VTEP MAC (the device was recreated) is a change: one patch of just that key.
    await restarted.acquireLease(vxlanAttrs('192.168.77.11', '5a:9b:6c:cc:33:81'), {});
    assert.equal(fx.server.count('patch', 'nodes/status'), before + 1);
    assert.equal(fx.annotations('n1')[`${PREFIX}backend-data`], '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:81"}');
  });

  it('publishes dual stack (backend-v6-data, public-ipv6) and host-gw ("null" backend data)', async () => {
    await fx.writeNetConf({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00:44::/48', Backend: { Type: 'vxlan' } });
    fx.server.store.create({ name: 'dual', podCIDRs: ['10.244.7.0/24', 'fc00:44:0:7::/64'] });
    const sm = await fx.manager('dual');
    const lease = await sm.acquireLease(vxlanAttrs('192.168.77.17', 'aa:aa:aa:aa:aa:01', { ip: 'fd77::17', mac: 'aa:aa:aa:aa:aa:02' }), {});
    assert.equal(lease.subnet?.toString(), '10.244.7.0/24');
    assert.equal(lease.ipv6Subnet?.toString(), 'fc00:44:0:7::/64');
    const a = fx.annotations('dual');
    assert.equal(a[`${PREFIX}backend-v6-data`], '{"VNI":1,"VtepMAC":"aa:aa:aa:aa:aa:02"}');
    assert.equal(a[`${PREFIX}public-ipv6`], 'fd77::17');
    assert.equal(a[`${PREFIX}public-ip`], '192.168.77.17');

    await fx.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } });
    fx.server.store.create({ name: 'hgw', podCIDR: '10.244.8.0/24' });
    const hgw = await fx.manager('hgw');
    const attrs = { publicIP: IPAddress.parse('192.168.77.18'), publicIPv6: undefined, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined };
    await hgw.acquireLease(attrs, {});
    assert.deepEqual(
      Object.fromEntries(Object.entries(fx.annotations('hgw')).filter(([k]) => k.startsWith(PREFIX))),
      { [`${PREFIX}backend-data`]: 'null', [`${PREFIX}backend-type`]: 'host-gw', [`${PREFIX}kube-subnet-manager`]: 'true', [`${PREFIX}public-ip`]: '192.168.77.18' },
    );
    await fx.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  });

  it('honours public-ip-overwrite, also when an operator sets it while the agent runs', async () => {
    fx.server.store.create({ name: 'ov', podCIDR: '10.244.9.0/24', annotations: { [`${PREFIX}public-ip-overwrite`]: '203.0.113.9' } });
    const sm = await fx.manager('ov');
    await sm.acquireLease(vxlanAttrs('192.168.77.19'), {});
    assert.equal(fx.annotations('ov')[`${PREFIX}public-ip`], '203.0.113.9');
    fx.server.store.update('ov', (n) => {
      if (n.metadata.annotations) n.metadata.annotations[`${PREFIX}public-ip-overwrite`] = '203.0.113.10';
    });
    await pollFor(() => fx.annotations('ov')[`${PREFIX}public-ip`] === '203.0.113.10', 'public-ip re-published from the new overwrite');
    // Someone removing flannel's annotations gets them back.
    fx.server.store.update('ov', (n) => {
      delete n.metadata.annotations?.[`${PREFIX}kube-subnet-manager`];
    });
    await pollFor(() => fx.annotations('ov')[`${PREFIX}kube-subnet-manager`] === 'true', 'kube-subnet-manager re-published');
  });

  it('sets the NetworkUnavailable condition to False (strategic merge: other conditions kept)', async () => {
    fx.server.store.create({ name: 'cond', podCIDR: '10.244.10.0/24', status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' }] } });
    const sm = await fx.manager('cond');
    const lease = await sm.acquireLease(vxlanAttrs('192.168.77.20'), {});
    await sm.onReady(lease, AbortSignal.timeout(5000));
    const conds = fx.server.store.get('cond')?.status?.conditions ?? [];
    assert.equal(conds.length, 2);
    assert.deepEqual(conds[0], { type: 'Ready', status: 'True' });
    const nu = conds[1] ?? {};
    assert.equal(nu['status'], 'False');
    assert.equal(nu['reason'], 'FlannelIsUp');
    assert.equal(nu['message'], 'Flannel is running on this node');
    assert.match(String(nu['lastTransitionTime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const quiet = await fx.manager('cond', { setNodeNetworkUnavailable: false });
    const n = fx.server.requests.length;
    await quiet.onReady(lease, AbortSignal.timeout(5000));
    assert.equal(fx.server.requests.length, n, '-set-node-network-unavailable=false sends nothing');
  });

  it('uses a custom -kube-annotation-prefix as flannel completes it', async () => {
    fx.server.store.create({ name: 'pfx', podCIDR: '10.244.11.0/24' });
    const sm = await fx.manager('pfx', { annotationPrefix: 'example.com/net' });
    await sm.acquireLease(vxlanAttrs('192.168.77.21'), {});
    assert.equal(fx.annotations('pfx')['example.com/net-backend-type'], 'vxlan');
    assert.equal(fx.annotations('pfx')['example.com/net-kube-subnet-manager'], 'true');
  });

  it('makes only the API calls listed in KUBE_API_CALLS (what the RBAC rules grant)', () => {
    const allowed = new Set(KUBE_API_CALLS.map((c) => `${c.verb} ${c.resource}`));
    const made = new Set(fx.server.requests.map((r) => `${r.verb} ${r.resource}`));
    for (const call of made) assert.ok(allowed.has(call), `${call} is not in KUBE_API_CALLS`);
  });
});

describe('KubeSubnetManager: peers', () => {
  let fx: KubeFixture;
  let reader: WatchReader;
  before(async () => {
    fx = await KubeFixture.start();
    fx.server.store.create({ name: 'me', podCIDR: '10.244.1.0/24' });
    fx.server.store.create({ name: 'p2', podCIDR: '10.244.2.0/24', annotations: peerAnnotations('192.168.77.12', 'aa:00:00:00:00:02') });
    fx.server.store.create({ name: 'bare', podCIDR: '10.244.3.0/24' });
    const sm = await fx.manager('me');
    await sm.acquireLease(vxlanAttrs('192.168.77.11'), {});
    reader = new WatchReader(sm.watchLeases(fx.ac.signal));
  });
  after(async () => fx.close());

  it("starts with a snapshot of the nodes that published a lease (not those without kube-subnet-manager)", async () => {
    const first = await reader.waitFor('first snapshot', (r) => r.kind === 'snapshot');
    assert.equal(first.kind, 'snapshot');
    const subnets = first.kind === 'snapshot' ? first.leases.map((l) => l.subnet?.toString()).sort() : [];
    assert.deepEqual(subnets, ['10.244.1.0/24', '10.244.2.0/24']);
    const p2 = first.kind === 'snapshot' ? first.leases.find((l) => l.subnet?.toString() === '10.244.2.0/24') : undefined;
    assert.equal(p2?.attrs.publicIP?.toString(), '192.168.77.12');
    assert.deepEqual(p2?.attrs.backendData, { VNI: 1, VtepMAC: 'aa:00:00:00:00:02' });
    assert.equal(p2?.attrs.backendType, 'vxlan');
  });

  it('a node added later becomes a peer once it publishes its annotations', async () => {
    const from = reader.mark();
    fx.server.store.create({ name: 'p4', podCIDR: '10.244.4.0/24' });
    fx.server.store.update('p4', (n) => Object.assign(n.metadata.annotations ?? {}, peerAnnotations('192.168.77.14', 'aa:00:00:00:00:04')));
    await reader.waitFor('p4 added', hasEvent('added', '10.244.4.0/24', (l) => l.attrs.publicIP?.toString() === '192.168.77.14'), from);
  });

  it('a deleted node stops being a peer', async () => {
    const from = reader.mark();
    fx.server.store.delete('p4');
    const r = await reader.waitFor('p4 removed', hasEvent('removed', '10.244.4.0/24'), from);
    assert.ok(r.kind === 'events' && r.events.every((e) => e.lease.subnet?.toString() === '10.244.4.0/24'));
  });

  it("an overwrite annotation changes the public IP peers use", async () => {
    const from = reader.mark();
    fx.server.store.update('p2', (n) => Object.assign(n.metadata.annotations ?? {}, { [`${PREFIX}public-ip-overwrite`]: '198.51.100.2' }));
    await reader.waitFor('p2 re-added with the overwrite', hasEvent('added', '10.244.2.0/24', (l) => l.attrs.publicIP?.toString() === '198.51.100.2'), from);
  });

  it('survives a dropped watch connection (re-opened from the last version, no re-list)', async () => {
    const lists = fx.server.count('list', 'nodes');
    const watches = fx.server.count('watch', 'nodes');
    fx.server.dropWatches();
    const from = reader.mark();
    fx.server.store.create({ name: 'p5', podCIDR: '10.244.5.0/24', annotations: peerAnnotations('192.168.77.15', 'aa:00:00:00:00:05') });
    await reader.waitFor('p5 added after the drop', hasEvent('added', '10.244.5.0/24'), from);
    assert.ok(fx.server.count('watch', 'nodes') > watches, 'the watch was re-opened');
    assert.equal(fx.server.count('list', 'nodes'), lists, 'no re-list needed');
  });

  it('survives 410 Gone: re-lists and sends a snapshot with what changed meanwhile', async () => {
    const lists = fx.server.count('list', 'nodes');
    fx.server.failNextWatches(1, 'expired');
    fx.server.dropWatches();
    fx.server.store.delete('p5');
    fx.server.store.create({ name: 'p6', podCIDR: '10.244.6.0/24', annotations: peerAnnotations('192.168.77.16', 'aa:00:00:00:00:06') });
    fx.server.compact();
    const from = reader.mark();
    const snap = await reader.waitFor('snapshot after 410', snapshotWith(['10.244.6.0/24']), from);
    assert.ok(snap.kind === 'snapshot' && !snap.leases.some((l) => l.subnet?.toString() === '10.244.5.0/24'), 'p5 is gone');
    assert.equal(fx.server.count('list', 'nodes'), lists + 1);
    // The re-list was consistent (resourceVersion unset), not from the cache ("0").
    const last = fx.server.requests.filter((r) => r.verb === 'list').at(-1);
    assert.ok(last && !last.url.includes('resourceVersion=0'), last?.url);
    // And the watch goes on from the new list.
    const next = reader.mark();
    fx.server.store.create({ name: 'p7', podCIDR: '10.244.7.0/24', annotations: peerAnnotations('192.168.77.17', 'aa:00:00:00:00:07') });
    await reader.waitFor('p7 added', hasEvent('added', '10.244.7.0/24'), next);
  });

  it('survives a 410 sent as an ERROR event in an open watch', async () => {
    const lists = fx.server.count('list', 'nodes');
    const from = reader.mark();
    fx.server.expireWatches();
    await reader.waitFor('snapshot after the ERROR event', (r) => r.kind === 'snapshot', from);
    assert.equal(fx.server.count('list', 'nodes'), lists + 1);
  });
});

describe('KubeSubnetManager: clear errors', () => {
  let fx: KubeFixture;
  before(async () => (fx = await KubeFixture.start()));
  after(async () => fx.close());

  it('waits, saying why, while the node has no podCIDR, and goes on once it has one', async () => {
    fx.server.store.create({ name: 'late' });
    const sm = await fx.manager('late');
    const pending = sm.acquireLease(vxlanAttrs('192.168.77.31'), {});
    const log = (sm as unknown as { log: { lines: string[] } }).log;
    await pollFor(() => log.lines.some((l) => /node "late" has no podCIDR yet/.test(l)), 'the reason in the log');
    fx.server.store.update('late', (n) => (n.spec = { podCIDR: '10.244.31.0/24', podCIDRs: ['10.244.31.0/24'] }));
    const lease = await pending;
    assert.equal(lease.subnet?.toString(), '10.244.31.0/24');
  });

  it('a node that never gets a podCIDR (or does not exist) is a retryable ERR_KUBE_NODE_NOT_READY', async () => {
    const sm = await fx.manager('ghost', { nodeWaitMs: 200 });
    await assert.rejects(sm.acquireLease(vxlanAttrs('192.168.77.32'), {}), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, KubeErrorCode.nodeNotReady);
      assert.equal(err.retryable, true);
      assert.match(err.message, /node "ghost" does not exist/);
      return true;
    });
  });

  it('a podCIDR outside the network is a ConfigError naming Network and the podCIDR', async () => {
    fx.server.store.create({ name: 'outside', podCIDR: '10.99.1.0/24' });
    const sm = await fx.manager('outside');
    await assert.rejects(sm.acquireLease(vxlanAttrs('192.168.77.33'), {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, 'Network');
      assert.match(err.message, /10\.244\.0\.0\/16.*does not contain the podCIDR 10\.99\.1\.0\/24 of node "outside"/);
      return true;
    });
    assert.equal(fx.annotations('outside')[`${PREFIX}kube-subnet-manager`], undefined, 'nothing published');
  });

  it('a malformed or invalid net-conf.json is a ConfigError naming the file or the field', async () => {
    await fx.writeNetConf('{"Network": "10.244.0.0/16",');
    const sm = await fx.manager('x', { noConfig: true });
    await assert.rejects(sm.getNetworkConfig(AbortSignal.timeout(2000)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, fx.netConfPath);
      assert.match(err.message, /malformed JSON/);
      return true;
    });
    await fx.writeNetConf({ Network: 'ten.two', Backend: { Type: 'vxlan' } });
    await assert.rejects(sm.getNetworkConfig(AbortSignal.timeout(2000)), (err: unknown) => err instanceof ConfigError && err.field === 'Network');
    const missing = await fx.manager('x', { noConfig: true, netConfPath: `${fx.dir}/nope.json` });
    await assert.rejects(missing.getNetworkConfig(AbortSignal.timeout(2000)), (err: unknown) => err instanceof ConfigError && err.field === '-net-config-path' && /ENOENT/.test(err.message));
    await fx.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  });

  it('a 403 from the API is a non-retryable ERR_KUBE_FORBIDDEN saying what was denied', async () => {
    fx.server.forbid({ verb: 'list', resource: 'nodes' });
    try {
      const sm = await fx.manager('n1');
      await assert.rejects(sm.acquireLease(vxlanAttrs('192.168.77.34'), {}), (err: unknown) => {
        assert.ok(err instanceof StoreError, String(err));
        assert.equal(err.code, KubeErrorCode.forbidden);
        assert.equal(err.status, 403);
        assert.equal(err.retryable, false);
        assert.match(err.message, /\/api\/v1\/nodes: list nodes: HTTP 403: nodes is forbidden: User "system:serviceaccount:kube-flannel:flannel" cannot list resource "nodes"/);
        return true;
      });
    } finally {
      fx.server.allowAll();
    }
  });

  it('a bad token is ERR_KUBE_UNAUTHORIZED', async () => {
    const sm = await fx.manager('n1', { kubeconfig: await fx.writeKubeconfig('wrong', `${fx.dir}/bad-kubeconfig`) });
    await assert.rejects(sm.acquireLease(vxlanAttrs('192.168.77.35'), {}), (err: unknown) => err instanceof StoreError && err.code === KubeErrorCode.unauthorized && err.status === 401);
  });
});

describe('KubeSubnetManager at scale', () => {
  let fx: KubeFixture;
  before(async () => (fx = await KubeFixture.start()));
  after(async () => fx.close());

  it('starts among 5,000 nodes with one list and one watch, in seconds', async () => {
    const conds = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'].map((type) => ({ type, status: 'False', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z' }));
    for (let i = 0; i < 5000; i++) {
      const cidr = `10.${100 + (i >> 8)}.${i & 255}.0/24`;
      const ip = `172.${16 + (i >> 8)}.${i & 255}.1`;
      fx.server.store.create({ name: `node-${i}`, podCIDR: cidr, annotations: i === 0 ? {} : peerAnnotations(ip, '5a:9b:6c:cc:33:80'), status: { conditions: conds, addresses: [{ type: 'InternalIP', address: ip }] } });
    }
    await fx.writeNetConf({ Network: '10.0.0.0/8', Backend: { Type: 'vxlan' } });
    const started = Date.now();
    const sm = await fx.manager('node-0');
    await sm.acquireLease(vxlanAttrs('172.16.0.1'), {});
    const reader = new WatchReader(sm.watchLeases(fx.ac.signal));
    const snap = await reader.waitFor('snapshot of 5,000 leases', (r) => r.kind === 'snapshot' && r.leases.length === 5000, 0, 20_000);
    const ms = Date.now() - started;
    assert.equal(snap.kind, 'snapshot');
    assert.equal(fx.server.count('list', 'nodes'), 1, 'one list');
    assert.equal(fx.server.count('get', 'nodes'), 0, 'no per-node requests');
    await pollFor(() => fx.server.count('watch', 'nodes') === 1, 'one watch');
    assert.ok(ms < 10_000, `started in ${ms} ms`);
    const keys = new Set(snap.kind === 'snapshot' ? snap.leases.map((l) => leaseKey(l)) : []);
    assert.equal(keys.size, 5000);
    process.stdout.write(`# 5,000 nodes: acquire + first snapshot in ${ms} ms\n`);
  });
});

describe('KubeSubnetManager: node name and connection', () => {
  it('finds the node from POD_NAME/POD_NAMESPACE (one GET of the pod) when NODE_NAME is unset', async () => {
    const fx = await KubeFixture.start();
    try {
      fx.server.store.pods.set('kube-flannel/kube-flannel-ds-abcde', { metadata: { name: 'kube-flannel-ds-abcde', namespace: 'kube-flannel' }, spec: { nodeName: 'worker-7' } });
      const { createKubeApi } = await import('../../../../src/subnet/kube/kube-client.js');
      const { resolveNodeName } = await import('../../../../src/subnet/kube/create-kube-manager.js');
      const api = await createKubeApi({ kubeconfigFile: fx.kubeconfigPath });
      const signal = AbortSignal.timeout(5000);
      assert.equal(await resolveNodeName(api, { NODE_NAME: 'from-env' }, signal), 'from-env');
      assert.equal(await resolveNodeName(api, { POD_NAME: 'kube-flannel-ds-abcde', POD_NAMESPACE: 'kube-flannel' }, signal), 'worker-7');
      await assert.rejects(resolveNodeName(api, {}, signal), (err: unknown) => err instanceof StoreError && /NODE_NAME is not set/.test(err.message));
      assert.equal(fx.server.count('get', 'pods'), 1);
    } finally {
      await fx.close();
    }
  });

  it('reaches the API with -kube-api-url alone (no credentials), as Go flannel does', async () => {
    const fx = await KubeFixture.start({ anonymous: true });
    try {
      fx.server.store.create({ name: 'anon', podCIDR: '10.244.1.0/24' });
      const { createKubeApi } = await import('../../../../src/subnet/kube/kube-client.js');
      const api = await createKubeApi({ apiUrl: fx.server.url });
      const names: unknown[] = [];
      const list = await api.listNodes({ signal: AbortSignal.timeout(5000) }, (n) => names.push((n['metadata'] as { name: string }).name));
      assert.equal(list.count, 1);
      assert.deepEqual(names, ['anon']);
      assert.equal(fx.server.requests.at(-1)?.user, 'system:anonymous');
    } finally {
      await fx.close();
    }
  });
});

async function pollFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const { poll } = await import('../../../support/poll.js');
  await poll(() => cond(), { what, timeoutMs, intervalMs: 10 });
}
