/**
 * `flannelctl doctor` in kube mode (the stand-in API server, no etcd): node-1 has a podCIDR and
 * a running agent, and doctor there is clean; node-2 was never given a podCIDR, so its agent
 * waits for one and holds no lease, and doctor on host 2 names that (and the missing
 * subnet.env). Outputs are printed as diagnostics (docs/troubleshooting.md quotes them).
 * Needs root.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../src/ctl/doctor/finding.js';
import { createCluster, REPO_ROOT, type Cluster } from './harness.js';
import { kubeAgentArgs, startClusterKubeApi, type ClusterKubeApi } from './kube-api-node.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const FLANNELCTL = [process.execPath, join(REPO_ROOT, 'bin', 'flannelctl')];

describe('flannelctl doctor in kube mode', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  let api: ClusterKubeApi;

  before(async () => {
    cluster = await createCluster({ hosts: 2, etcd: false });
    api = await startClusterKubeApi(cluster);
    await api.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    api.server.store.create({ name: 'node-1', podCIDRs: ['10.244.1.0/24'] });
    api.server.store.create({ name: 'node-2', podCIDRs: [] });
    const a = cluster.startAgent(1, { args: kubeAgentArgs(api, ['-ip-masq']), env: { NODE_NAME: 'node-1' } });
    cluster.startAgent(2, { args: kubeAgentArgs(api), env: { NODE_NAME: 'node-2' } });
    await a.waitForSubnetFile({ timeoutMs: 20_000 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const doctor = async (host: number, t: { diagnostic(s: string): void }, label: string) => {
    const argv = [...FLANNELCTL, 'doctor', ...kubeAgentArgs(api), `-subnet-file=${join(cluster.hostDir(host), 'subnet.env')}`];
    const env = { NODE_NAME: `node-${host}` };
    const [json, table] = await Promise.all([
      cluster.exec(host, [...argv, '-o', 'json'], { env, allowFailure: true, timeoutMs: 20_000 }),
      cluster.exec(host, argv, { env, allowFailure: true, timeoutMs: 20_000 }),
    ]);
    t.diagnostic(`$ flannelctl doctor -kube-subnet-mgr ...   # ${label}\n${table.stdout}`);
    return { code: json.exitCode, findings: (JSON.parse(json.stdout) as { findings: Finding[] }).findings, table: table.stdout };
  };

  it('is clean on a node with a podCIDR and a running agent', async (t) => {
    const r = await doctor(1, t, 'node-1, healthy');
    assert.equal(r.code, 0, r.table);
    assert.ok(r.findings.some((f) => f.check === 'lease' && /\[node node-1\]$/.test(f.what)), r.table);
  });

  it('names a node without a podCIDR, and its missing subnet.env', async (t) => {
    const r = await doctor(2, t, 'node-2, no podCIDR');
    assert.equal(r.code, 1, r.table);
    const failed = r.findings.filter((f) => f.severity === 'error');
    const lease = failed.find((f) => f.check === 'lease');
    assert.ok(lease, r.table);
    assert.match(lease.what, /^node node-2 is in the API but holds no lease: /);
    assert.ok(failed.some((f) => f.check === 'subnet-env' && /does not exist$/.test(f.what)), r.table);
  });
});
