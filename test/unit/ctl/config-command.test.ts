/** flannelctl config get|set|validate against an etcd store (fake etcd) and in kube mode. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseNetworkConfig } from '../../../src/config/network-config.js';
import { ConfigError } from '../../../src/errors.js';
import { etcdStore, PREFIX, runCtl, TtlFakeEtcd } from './ctl-run.js';

const dir = mkdtempSync(join(tmpdir(), 'flannelctl-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** flanneld's own error message for a document (what the agent would log). */
function flanneldError(text: string): string {
  try {
    parseNetworkConfig(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  throw new Error('valid');
}

describe('flannelctl config', () => {
  it('set validates, writes the document as given, get prints it', async () => {
    const kv = new TtlFakeEtcd();
    const doc = '{"Network": "10.5.0.0/16", "Backend": {"Type": "vxlan", "VNI": 7}}';
    const set = await runCtl(['config', 'set', '-'], { store: etcdStore(kv), stdin: doc });
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /written to etcd key \/coreos.com\/network\/config/);
    assert.equal(kv.raw(`${PREFIX}/config`)?.value, doc);
    const get = await runCtl(['config', 'get'], { store: etcdStore(kv) });
    assert.equal(get.out, `${doc}\n`);
    const json = await runCtl(['config', 'get', '-o', 'json'], { store: etcdStore(kv) });
    assert.deepEqual(JSON.parse(json.out), JSON.parse(doc));
  });

  it('set writes nothing when invalid and prints flanneld\'s error text', async () => {
    const kv = new TtlFakeEtcd();
    kv.set(`${PREFIX}/config`, '{"Network":"10.9.0.0/16"}');
    const bad = '{"Network": "10.5.0.0/16", "SubnetLen": 31}';
    const file = join(dir, 'bad.json');
    writeFileSync(file, bad);
    const r = await runCtl(['config', 'set', file], { store: etcdStore(kv) });
    assert.equal(r.code, 1);
    assert.equal(r.err, `${flanneldError(bad)}\n`);
    assert.equal(r.err, 'invalid network config: SubnetLen=31: must be at most 30\n');
    assert.equal(kv.raw(`${PREFIX}/config`)?.value, '{"Network":"10.9.0.0/16"}', 'the stored config is untouched');
    const vx = '{"Network": "10.5.0.0/16", "Backend": {"Type": "vxlan", "VNI": "x"}}';
    const r2 = await runCtl(['config', 'set', '-'], { store: etcdStore(kv), stdin: vx });
    assert.equal(r2.code, 1);
    assert.equal(r2.err, 'invalid network config: Backend.VNI="x": must be an integer\n');
  });

  it('validate prints what flanneld would use, defaults filled in', async () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, '{"Network": "10.5.0.0/16", "Backend": {"Type": "VXLAN"}}');
    const r = await runCtl(['config', 'validate', file, '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      Network: '10.5.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.5.1.0',
      SubnetMax: '10.5.255.0',
      EnableIPv4: true,
      EnableIPv6: false,
      EnableNFTables: false,
      Backend: { Type: 'vxlan', VNI: 1, Port: 0, GBP: false, Learning: false, DirectRouting: false, MTU: 0, MacPrefix: '0E:2A' },
    });
    const t = await runCtl(['config', 'validate', file]);
    assert.match(t.out, /^SubnetLen\s+24$/m);
    assert.match(t.out, /^Backend\.VNI\s+1$/m);
    const wg = await runCtl(['config', 'validate', '-', '-o', 'json'], { stdin: `{"Network":"10.6.0.0/20","Backend":{"Type":"wireguard","PSK":"${Buffer.alloc(32, 7).toString('base64')}"}}` });
    assert.equal(wg.code, 0, wg.err);
    const b = JSON.parse(wg.out) as { SubnetLen: number; Backend: Record<string, unknown> };
    assert.equal(b.SubnetLen, 24);
    assert.equal(b.Backend['ListenPort'], 51820);
    assert.equal(b.Backend['PSK'], '(set, not shown)', 'secrets are never echoed');
  });

  it('validate of the stored config, and flanneld\'s error for a bad one', async () => {
    const kv = new TtlFakeEtcd();
    kv.set(`${PREFIX}/config`, '{"Network": "10.5.0.0/30"}');
    const r = await runCtl(['config', 'validate'], { store: etcdStore(kv) });
    assert.equal(r.code, 1);
    assert.equal(r.err, `${flanneldError('{"Network": "10.5.0.0/30"}')}\n`);
    const empty = await runCtl(['config', 'get'], { store: etcdStore(new TtlFakeEtcd()) });
    assert.equal(empty.code, 1);
    assert.match(empty.err, /etcd key \/coreos.com\/network\/config does not exist/);
  });

  it('bad usage exits 2 naming what is wrong', async () => {
    const a = await runCtl(['config', 'put']);
    assert.equal(a.code, 2);
    assert.match(a.err, /unknown action "put"/);
    const b = await runCtl(['config', 'set']);
    assert.equal(b.code, 2);
    assert.match(b.err, /missing the file/);
    const c = await runCtl(['config', 'validate', join(dir, 'missing.json')]);
    assert.equal(c.code, 2);
    assert.match(c.err, /cannot read ".*missing.json"/);
  });

  it('kube mode: validate reads -net-config-path as flanneld does; set is refused with what to do', async () => {
    const file = join(dir, 'net-conf.json');
    writeFileSync(file, '{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}');
    const r = await runCtl(['config', 'validate', file, '-kube-subnet-mgr', '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { Network: '10.244.0.0/16', EnableIPv4: true, EnableIPv6: false, EnableNFTables: false, Backend: { Type: 'host-gw' } });
    const { KubeCtlStore } = await import('../../../src/ctl/kube-store.js');
    const { annotationKeys } = await import('../../../src/subnet/kube/kube-annotations.js');
    const store = new KubeCtlStore({ server: 'https://fake', getJSON: () => Promise.resolve({}), patch: () => Promise.resolve(), close: () => {} }, annotationKeys('flannel.alpha.coreos.com'), file);
    const s = await runCtl(['config', 'set', file, '-kube-subnet-mgr'], { store });
    assert.equal(s.code, 1);
    assert.match(s.err, /in kube mode flanneld reads the network config from -net-config-path .*edit the ConfigMap/);
  });
});
