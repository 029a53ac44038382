/**
 * bin/flanneld -kube-subnet-mgr as a process against the stand-in API server: the alloc backend
 * (nothing in the kernel, no root), interface lo (-iface=127.0.0.1). Checks subnet.env, the
 * node's annotations and condition, clear exits on bad input, and the agent's RSS among 5,000 nodes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../../../support/managed-process.js';
import { poll } from '../../../support/poll.js';
import { KubeFixture, PREFIX, peerAnnotations } from './kube-fixture.js';

const FLANNELD = fileURLToPath(new URL('../../../../../bin/flanneld', import.meta.url));

function startAgent(fx: KubeFixture, name: string, extra: string[] = [], env: Record<string, string> = { NODE_NAME: name }): ManagedProcess {
  return new ManagedProcess({
    argv: [
      FLANNELD,
      '-kube-subnet-mgr',
      `-kubeconfig-file=${fx.kubeconfigPath}`,
      `-net-config-path=${fx.netConfPath}`,
      `-subnet-file=${join(fx.dir, `${name}.env`)}`,
      '-iface=127.0.0.1',
      '-ip-masq=false',
      '-iptables-forward-rules=false',
      ...extra,
    ],
    logFile: join(fx.dir, `${name}.log`),
    env,
  });
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

describe('flanneld -kube-subnet-mgr (alloc backend, no root)', () => {
  let fx: KubeFixture;
  const procs: ManagedProcess[] = [];
  before(async () => {
    fx = await KubeFixture.start();
    await fx.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'alloc' } });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 3000).catch(() => {})));
    await fx.close();
  });

  it('writes subnet.env from the podCIDR, publishes the lease and clears NetworkUnavailable', async () => {
    fx.server.store.create({ name: 'h1', podCIDR: '10.244.1.0/24' });
    const p = startAgent(fx, 'h1');
    procs.push(p);
    const env = await poll(async () => readFile(join(fx.dir, 'h1.env'), 'utf8').catch(() => undefined), { what: 'subnet.env of h1', timeoutMs: 15_000 });
    assert.match(env, /^FLANNEL_NETWORK=10\.244\.0\.0\/16$/m);
    assert.match(env, /^FLANNEL_SUBNET=10\.244\.1\.1\/24$/m);
    assert.equal(fx.annotations('h1')[`${PREFIX}kube-subnet-manager`], 'true');
    assert.equal(fx.annotations('h1')[`${PREFIX}public-ip`], '127.0.0.1');
    await poll(() => fx.server.store.get('h1')?.status?.conditions?.some((c) => c['type'] === 'NetworkUnavailable' && c['status'] === 'False'), {
      what: 'NetworkUnavailable=False on h1',
      timeoutMs: 5000,
    });
    assert.equal((await p.stop('SIGTERM', 5000)).code, 0);
  });

  it('exits 1 with a message naming the file for a malformed net-conf.json', async () => {
    await fx.writeNetConf('{ "Network": ');
    fx.server.store.create({ name: 'h2', podCIDR: '10.244.2.0/24' });
    const p = startAgent(fx, 'h2');
    procs.push(p);
    const exit = await p.waitForExit(15_000);
    assert.equal(exit?.code, 1);
    const log = await readFile(join(fx.dir, 'h2.log'), 'utf8');
    assert.match(log, /invalid network config: .*net-conf\.json.*malformed JSON/);
    await fx.writeNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'alloc' } });
  });

  it('exits 1 when the podCIDR lies outside the network', async () => {
    fx.server.store.create({ name: 'h3', podCIDR: '10.99.3.0/24' });
    const p = startAgent(fx, 'h3');
    procs.push(p);
    assert.equal((await p.waitForExit(15_000))?.code, 1);
    assert.match(await readFile(join(fx.dir, 'h3.log'), 'utf8'), /Network="10\.244\.0\.0\/16": does not contain the podCIDR 10\.99\.3\.0\/24 of node "h3"/);
  });

  it('logs the 403 clearly and keeps retrying until RBAC allows the call', async () => {
    fx.server.store.create({ name: 'h4', podCIDR: '10.244.4.0/24' });
    fx.server.forbid({ verb: 'list', resource: 'nodes' });
    const p = startAgent(fx, 'h4');
    procs.push(p);
    const logFile = join(fx.dir, 'h4.log');
    await poll(async () => /HTTP 403: nodes is forbidden: User "[^"]+" cannot list resource "nodes"/.test(await readFile(logFile, 'utf8').catch(() => '')), {
      what: 'the 403 in the log',
      timeoutMs: 15_000,
    });
    fx.server.allowAll();
    await poll(async () => readFile(join(fx.dir, 'h4.env'), 'utf8').catch(() => undefined), { what: 'subnet.env of h4 once allowed', timeoutMs: 40_000 });
    await p.stop('SIGTERM', 5000);
  });

  it('among 5,000 nodes: one list, one watch; reports the RSS', async () => {
    for (let i = 0; i < 5000; i++) {
      fx.server.store.create({ name: `big-${i}`, podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`, annotations: peerAnnotations(`172.${16 + (i >> 8)}.${i & 255}.1`, '5a:9b:6c:cc:33:80') });
    }
    await fx.writeNetConf({ Network: '10.0.0.0/8', Backend: { Type: 'alloc' } });
    fx.server.store.create({ name: 'h5', podCIDR: '10.200.0.0/24' });
    const lists = fx.server.count('list', 'nodes');
    const started = Date.now();
    const p = startAgent(fx, 'h5', ['-v=1']);
    procs.push(p);
    await poll(async () => readFile(join(fx.dir, 'h5.env'), 'utf8').catch(() => undefined), { what: 'subnet.env of h5', timeoutMs: 30_000 });
    const ready = Date.now() - started;
    const logFile = join(fx.dir, 'h5.log');
    await poll(async () => /5\d{3} remote leases now/.test(await readFile(logFile, 'utf8')), { what: 'all peers seen', timeoutMs: 30_000 });
    assert.equal(fx.server.count('list', 'nodes') - lists, 1);
    const rss = await rssKiB(p.pid);
    process.stdout.write(`# flanneld kube mode, 5,000 nodes: subnet.env after ${ready} ms, RSS ${(rss / 1024).toFixed(1)} MiB\n`);
    assert.ok(ready < 15_000, `ready after ${ready} ms`);
    await p.stop('SIGTERM', 5000);
  });
});
