/** flannelctl leases, leases gc and reserve against the etcd store (fake etcd) and the kube store (fake API). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeCtlStore, type KubeStoreClient } from '../../../src/ctl/kube-store.js';
import { annotationKeys } from '../../../src/subnet/kube/kube-annotations.js';
import { etcdStore, PREFIX, runCtl, TtlFakeEtcd } from './ctl-run.js';

const CONFIG = '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}';
const VX = (ip: string, mac: string) => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;

/** Two live leases (one renewed 10 s ago, one 40 min overdue), a reservation and a key that is no lease. */
function cluster(): TtlFakeEtcd {
  const kv = new TtlFakeEtcd();
  kv.set(`${PREFIX}/config`, CONFIG);
  kv.set(`${PREFIX}/subnets/10.5.7.0-24`, VX('192.168.0.7', '5a:00:00:00:00:07'), '101');
  kv.set(`${PREFIX}/subnets/10.5.3.0-24`, VX('192.168.0.3', '5a:00:00:00:00:03'), '102');
  kv.set(`${PREFIX}/subnets/10.5.9.0-24`, '{"PublicIP":"192.168.0.9","PublicIPv6":null}');
  kv.set(`${PREFIX}/subnets/garbage`, 'x');
  // granted 24 h: renewal due every 23 h (margin 60 min). 101 renewed 10 s ago; 102 renewed
  // 23 h 40 min ago, so 40 min overdue (expires in 20 min).
  kv.ttl.set('101', { ttlSeconds: 86_390, grantedTtlSeconds: 86_400 });
  kv.ttl.set('102', { ttlSeconds: 1200, grantedTtlSeconds: 86_400 });
  return kv;
}

describe('flannelctl leases (etcd)', () => {
  it('table: every lease in address order with backend data and expiry; reservations marked', async () => {
    const r = await runCtl(['leases'], { store: etcdStore(cluster()) });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0] ?? '', /^SUBNET\s+IPV6 SUBNET\s+PUBLIC IP\s+PUBLIC IPV6\s+BACKEND\s+BACKEND DATA\s+EXPIRES\s+HOST$/);
    assert.match(lines[1] ?? '', /^10\.5\.3\.0\/24\s+-\s+192\.168\.0\.3\s+-\s+vxlan\s+VNI=1 VtepMAC=5a:00:00:00:00:03\s+20m\s+\/coreos.com\/network\/subnets\/10.5.3.0-24$/);
    assert.match(lines[2] ?? '', /^10\.5\.7\.0\/24 .*23h59m50s/);
    assert.match(lines[3] ?? '', /^10\.5\.9\.0\/24\s+-\s+192\.168\.0\.9\s+-\s+-\s+-\s+reserved/);
    assert.match(r.out, /^3 leases in etcd \(fake:\/\/etcd\)$/m);
    assert.match(r.out, /^not a lease: \/coreos.com\/network\/subnets\/garbage: not a subnet key$/m);
  });

  it('json: stable fields for scripts', async () => {
    const r = await runCtl(['leases', '-o', 'json'], { store: etcdStore(cluster()), now: Date.parse('2026-12-03T00:00:00Z') });
    const j = JSON.parse(r.out) as { store: string; leases: Record<string, unknown>[] };
    assert.equal(j.store, 'etcd');
    assert.equal(j.leases.length, 3);
    assert.deepEqual(j.leases[0], {
      subnet: '10.5.3.0/24',
      ipv6Subnet: null,
      publicIP: '192.168.0.3',
      publicIPv6: null,
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '5a:00:00:00:00:03' },
      backendV6Data: null,
      reserved: false,
      ttlSeconds: 1200,
      expiresAt: '2026-12-03T00:20:00.000Z',
      key: `${PREFIX}/subnets/10.5.3.0-24`,
      etcdLease: '102',
    });
    assert.equal(j.leases[2]?.['reserved'], true);
  });
});

describe('flannelctl leases gc (etcd)', () => {
  it('dry run lists hosts overdue for longer than the threshold and removes nothing', async () => {
    const kv = cluster();
    const r = await runCtl(['leases', 'gc', '-older-than', '30m'], { store: etcdStore(kv) });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^10\.5\.3\.0\/24\s+192\.168\.0\.3\s+\S+10\.5\.3\.0-24\s+40m\s+not renewed for 23h40m \(due every 23h; expires in 20m\)\s+would remove$/m);
    assert.doesNotMatch(r.out, /10\.5\.7\.0|10\.5\.9\.0/);
    assert.match(r.out, /1 would be removed .*run again with -apply/);
    assert.ok(kv.raw(`${PREFIX}/subnets/10.5.3.0-24`));
    const longer = await runCtl(['leases', 'gc', '-older-than', '1h'], { store: etcdStore(kv) });
    assert.match(longer.out, /^nothing to collect \(of 3 leases, gone for longer than 1h0m0s\)$/m);
  });

  it('-apply deletes the key and revokes its etcd lease; json says what was removed', async () => {
    const kv = cluster();
    const lease = await kv.grantLease(60);
    kv.set(`${PREFIX}/subnets/10.5.3.0-24`, VX('192.168.0.3', '5a:00:00:00:00:03'), lease.id);
    kv.ttl.set(lease.id, { ttlSeconds: 1200, grantedTtlSeconds: 86_400 });
    const r = await runCtl(['leases', 'gc', '-older-than=30m', '-apply', '-o', 'json'], { store: etcdStore(kv) });
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { dryRun: boolean; candidates: { subnet: string; removed: boolean; goneForSeconds: number }[] };
    assert.equal(j.dryRun, false);
    assert.deepEqual(j.candidates.map((c) => [c.subnet, c.removed, c.goneForSeconds]), [['10.5.3.0/24', true, 2400]]);
    assert.equal(kv.raw(`${PREFIX}/subnets/10.5.3.0-24`), undefined);
    assert.ok(!kv.liveLeases().includes(lease.id), 'the etcd lease is revoked');
    assert.ok(kv.raw(`${PREFIX}/subnets/10.5.7.0-24`), 'the live host keeps its lease');
  });

  it('bad input: -older-than missing, zero or not a duration', async () => {
    const a = await runCtl(['leases', 'gc']);
    assert.equal(a.code, 2);
    assert.match(a.err, /-older-than is required/);
    const b = await runCtl(['leases', 'gc', '-older-than', '2days']);
    assert.equal(b.code, 2);
    assert.match(b.err, /invalid value "2days" for flag -older-than/);
    const c = await runCtl(['leases', 'gc', '-older-than', '0s']);
    assert.equal(c.code, 2);
    assert.match(c.err, /invalid value "0s" for flag -older-than: must be longer than 0s/);
  });
});

describe('flannelctl reserve (etcd)', () => {
  it('add writes a key without a TTL; rm deletes it; a live lease of another host is refused', async () => {
    const kv = cluster();
    const add = await runCtl(['reserve', 'add', '10.5.20.0/24', '-public-ip', '192.168.0.20'], { store: etcdStore(kv) });
    assert.equal(add.code, 0, add.err);
    const k = kv.raw(`${PREFIX}/subnets/10.5.20.0-24`);
    assert.equal(k?.value, '{"PublicIP":"192.168.0.20","PublicIPv6":null}');
    assert.equal(k?.lease, '0');
    const taken = await runCtl(['reserve', 'add', '10.5.7.0/24', '-public-ip', '192.168.0.99'], { store: etcdStore(kv) });
    assert.equal(taken.code, 1);
    assert.match(taken.out, /10\.5\.7\.0-24 is leased by 192\.168\.0\.7: not reserved/);
    assert.equal(kv.raw(`${PREFIX}/subnets/10.5.7.0-24`)?.lease, '101', 'untouched');
    const rmLive = await runCtl(['reserve', 'rm', '10.5.7.0/24'], { store: etcdStore(kv) });
    assert.equal(rmLive.code, 1);
    assert.match(rmLive.out, /is a live lease \(it has a TTL\), not a reservation/);
    const rm = await runCtl(['reserve', 'rm', '10.5.20.0/24', '-o', 'json'], { store: etcdStore(kv) });
    assert.deepEqual(JSON.parse(rm.out), { action: 'rm', key: `${PREFIX}/subnets/10.5.20.0-24`, outcome: 'removed' });
    assert.equal(kv.raw(`${PREFIX}/subnets/10.5.20.0-24`), undefined);
  });

  it('add on the same host\'s live lease makes it permanent, keeping its data', async () => {
    const kv = cluster();
    const r = await runCtl(['reserve', 'add', '10.5.7.0/24', '-public-ip', '192.168.0.7'], { store: etcdStore(kv) });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /made permanent/);
    const k = kv.raw(`${PREFIX}/subnets/10.5.7.0-24`);
    assert.equal(k?.lease, '0');
    assert.equal(k?.value, VX('192.168.0.7', '5a:00:00:00:00:07'));
  });

  it('bad input names the field and value', async () => {
    const kv = cluster();
    const cases: [string[], RegExp, number][] = [
      [['reserve', 'add', '10.5.20.1/24', '-public-ip', '192.168.0.20'], /invalid subnet "10.5.20.1\/24": .*host bits set/, 2],
      [['reserve', 'add', '10.6.0.0/24', '-public-ip', '192.168.0.20'], /invalid subnet "10.6.0.0\/24": not a subnet flanneld would lease in this network: need an IPv4 \/24 in \[10.5.1.0, 10.5.255.0\] of Network 10.5.0.0\/16/, 2],
      [['reserve', 'add', '10.5.0.0/24', '-public-ip', '192.168.0.20'], /not a subnet flanneld would lease/, 2],
      [['reserve', 'add', '10.5.20.0/24'], /-public-ip is required/, 2],
      [['reserve', 'add', '10.5.20.0/24', '-public-ip', 'fe80::1'], /invalid value "fe80::1" for flag -public-ip: not an IPv4 address/, 2],
      [['reserve', 'add'], /give one subnet/, 2],
      [['reserve', 'take', '10.5.20.0/24'], /unknown action "take"/, 2],
    ];
    for (const [argv, re, code] of cases) {
      const r = await runCtl(argv, { store: etcdStore(kv) });
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, re, argv.join(' '));
    }
    assert.equal(kv.keys(`${PREFIX}/subnets/`).length, 4, 'nothing written');
  });

  it('kube mode: reservations are refused clearly, without contacting the API', async () => {
    const r = await runCtl(['reserve', 'add', '10.5.20.0/24', '-public-ip', '192.168.0.20', '-kube-subnet-mgr']);
    assert.equal(r.code, 1);
    assert.match(r.err, /not supported with -kube-subnet-mgr: flannel's kube mode has no reservations/);
  });
});

describe('flannelctl leases (kube)', () => {
  const keys = annotationKeys('flannel.alpha.coreos.com');
  const node = (name: string, cidr: string, ip: string | undefined, ready: string, since: string) => ({
    metadata: {
      name,
      annotations: ip
        ? { [keys.subnetKubeManaged]: 'true', [keys.publicIP]: ip, [keys.backendType]: 'wireguard', [keys.backendData]: '{"PublicKey":"a2V5","Port":51820}' }
        : {},
    },
    spec: { podCIDR: cidr },
    status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: since }] },
  });
  const patches: { path: string; body: unknown }[] = [];
  const client: KubeStoreClient = {
    server: 'https://api.test:6443',
    getJSON: () =>
      Promise.resolve({
        items: [
          node('n1', '10.244.1.0/24', '192.168.1.1', 'True', '2026-12-01T00:00:00Z'),
          node('n2', '10.244.2.0/24', '192.168.1.2', 'Unknown', '2026-12-02T20:00:00Z'),
          node('n3', '10.244.3.0/24', undefined, 'True', '2026-12-01T00:00:00Z'),
        ],
      }),
    patch: (path, body) => {
      patches.push({ path, body });
      return Promise.resolve();
    },
    close: () => {},
  };
  const now = Date.parse('2026-12-03T00:00:00Z');

  it('lists nodes\' leases with WireGuard keys; says why a node is no peer', async () => {
    const store = new KubeCtlStore(client, keys, '/nonexistent/net-conf.json');
    const r = await runCtl(['leases', '-kube-subnet-mgr'], { store, now });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^10\.244\.1\.0\/24\s+-\s+192\.168\.1\.1\s+-\s+wireguard\s+PublicKey=a2V5 Port=51820\s+-\s+n1$/m);
    assert.match(r.out, /^10\.244\.2\.0\/24 .* n2$/m);
    assert.match(r.out, /^not a lease: n3: no flannel.alpha.coreos.com\/kube-subnet-manager: "true" annotation$/m);
  });

  it('gc: nodes not Ready for longer than the threshold; -apply removes flannel\'s annotations', async () => {
    const store = new KubeCtlStore(client, keys, '/nonexistent/net-conf.json');
    const dry = await runCtl(['leases', 'gc', '-older-than', '2h', '-kube-subnet-mgr'], { store, now });
    assert.match(dry.out, /^10\.244\.2\.0\/24\s+192\.168\.1\.2\s+n2\s+4h\s+node Ready=Unknown since 2026-12-02T20:00:00.000Z\s+would remove$/m);
    assert.equal(patches.length, 0);
    const none = await runCtl(['leases', 'gc', '-older-than', '5h', '-kube-subnet-mgr'], { store, now });
    assert.match(none.out, /nothing to collect/);
    const applied = await runCtl(['leases', 'gc', '-older-than', '2h', '-apply', '-kube-subnet-mgr'], { store, now });
    assert.equal(applied.code, 0, applied.err);
    assert.equal(patches.length, 1);
    assert.equal(patches[0]?.path, '/api/v1/nodes/n2/status');
    const ann = (patches[0]?.body as { metadata: { annotations: Record<string, null> } }).metadata.annotations;
    assert.equal(ann[keys.subnetKubeManaged], null);
    assert.equal(ann[keys.publicIP], null);
    assert.ok(!(keys.publicIPOverwrite in ann), 'the operator\'s overwrite annotation is kept');
  });
});
