/**
 * Smoke test of the cluster harness (needs root): namespaces and addresses, underlay
 * reachability, etcd over the underlay and over the unix socket, a stand-in agent, teardown,
 * and the clean-up of namespaces left behind by a dead run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../support/command.js';
import { CommandError } from '../support/errors.js';
import { MARKER_DIR, createNetns, deleteNetns, listNetns, markerPath, netnsPids, runIn } from '../support/netns.js';
import { poll } from '../support/poll.js';
import { ETCD_ADDRESS, createCluster, type Cluster } from './harness.js';

const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-flanneld.js', import.meta.url));
const skip = process.getuid?.() !== 0 ? 'needs root' : false;

function ifaceAddrs(json: string): string[] {
  const links = JSON.parse(json) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

function getViaSocket(socketPath: string, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${path} via ${socketPath} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('cluster harness', { skip, timeout: 30_000 }, () => {
  let cluster: Cluster;
  let names: string[] = [];

  before(async () => {
    cluster = await createCluster({ hosts: 3, ipv6: true });
    names = [cluster.underlayNs, cluster.etcdNs, cluster.hostNs(1), cluster.hostNs(2), cluster.hostNs(3)];
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('creates every namespace with the run prefix and the right addresses', async () => {
    assert.match(cluster.prefix, /^ftst-[0-9a-f]{4}-$/);
    const present = await listNetns();
    for (const ns of names) {
      assert.ok(ns.startsWith(cluster.prefix) && ns.length <= 15, ns);
      assert.ok(present.includes(ns), `namespace ${ns} exists`);
    }
    for (const i of [1, 2, 3]) {
      assert.equal(cluster.hostAddress(i), `192.168.77.${10 + i}`);
      const { stdout } = await cluster.exec(i, ['ip', '-j', 'addr', 'show', 'dev', cluster.hostIface(i)]);
      const addrs = ifaceAddrs(stdout);
      assert.ok(addrs.includes(`192.168.77.${10 + i}/24`), addrs.join(' '));
      assert.ok(addrs.includes(`fd77::${10 + i}/64`), addrs.join(' '));
      const route = JSON.parse((await cluster.exec(i, ['ip', '-j', 'route', 'show', 'default'])).stdout) as Array<{
        gateway: string;
        dev: string;
      }>;
      assert.deepEqual(
        route.map((r) => [r.gateway, r.dev]),
        [['192.168.77.1', cluster.hostIface(i)]],
      );
      const fwd = await cluster.exec(i, ['sysctl', '-n', 'net.ipv4.ip_forward']);
      assert.equal(fwd.stdout.trim(), '1');
      const mtu = await cluster.exec(i, ['cat', `/sys/class/net/${cluster.hostIface(i)}/mtu`]);
      assert.equal(mtu.stdout.trim(), '1500');
    }
  });

  it('lets hosts reach each other, the gateway and etcd over the underlay', async () => {
    const pings: Promise<unknown>[] = [];
    for (const from of [1, 2, 3]) {
      const targets = [1, 2, 3].filter((to) => to !== from).map((to) => cluster.hostAddress(to));
      for (const to of [...targets, ETCD_ADDRESS, '192.168.77.1']) {
        pings.push(cluster.exec(from, ['ping', '-c1', '-W1', to]));
      }
    }
    pings.push(cluster.exec(1, ['ping', '-6', '-c1', '-W1', cluster.hostAddress6(2)]));
    await Promise.all(pings);
  });

  it('runs etcd reachable from a host via the underlay and from the root namespace via its socket', async () => {
    const env = { ETCDCTL_API: '3' };
    const put = ['etcdctl', `--endpoints=${cluster.etcd.url}`, 'put', '/ftst/from-host', 'h1'];
    await cluster.exec(1, put, { env });
    assert.equal(await cluster.etcdctl(['get', '--print-value-only', '/ftst/from-host']), 'h1\n');

    await run(['etcdctl', `--endpoints=${cluster.etcd.unixEndpoint}`, 'put', '/ftst/from-root', 'root'], { env });
    const got = await cluster.exec(2, ['etcdctl', `--endpoints=${cluster.etcd.url}`, 'get', '--print-value-only', '/ftst/from-root'], { env });
    assert.equal(got.stdout, 'root\n');

    // The same socket through a plain HTTP client (etcd's JSON gateway, keys base64).
    const key = Buffer.from('/ftst/from-root').toString('base64');
    const body = JSON.parse(await getViaSocket(cluster.etcd.socketPath, '/v3/kv/range', JSON.stringify({ key }))) as {
      kvs: Array<{ value: string }>;
    };
    assert.equal(Buffer.from(body.kvs[0]?.value ?? '', 'base64').toString(), 'root');

    await cluster.putConfig({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    const config = JSON.parse(await cluster.etcdctl(['get', '--print-value-only', '/coreos.com/network/config'])) as unknown;
    assert.deepEqual(config, { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  });

  it('kills and restarts etcd on the same data dir', async () => {
    await cluster.etcd.kill();
    assert.equal(cluster.etcd.pid, undefined);
    await assert.rejects(cluster.etcdctl(['get', '/ftst/from-root', '--dial-timeout=300ms', '--command-timeout=500ms']), CommandError);
    await cluster.etcd.restart();
    assert.equal(await cluster.etcdctl(['get', '--print-value-only', '/ftst/from-root']), 'root\n');
  });

  it('runs an agent in a host namespace that writes its subnet file', async () => {
    const agent = cluster.startAgent(2, { command: [process.execPath, FAKE_AGENT], env: { FAKE_FLANNEL_SUBNET: '10.244.7.1/24' } });
    const env = await agent.waitForSubnetFile({ timeoutMs: 5000 });
    assert.equal(env.FLANNEL_SUBNET, '10.244.7.1/24');
    assert.equal(env.FLANNEL_NETWORK, '10.244.0.0/16');
    const started = await agent.waitForLog(/ifaces=(\S+)/, { timeoutMs: 2000 });
    assert.equal(started[1], `${cluster.hostIface(2)},lo`, 'the agent sees only its own namespace');
    assert.match(await agent.readLog(), /-etcd-endpoints=http:\/\/192\.168\.77\.2:2379/);
    assert.equal(await agent.stop(), 0);

    const again = cluster.startAgent(2, { command: [process.execPath, FAKE_AGENT], env: { FAKE_FLANNEL_EXIT_CODE: '3' } });
    await assert.rejects(again.waitForSubnetFile({ timeoutMs: 5000, fresh: true }), /exited with code 3/);
    assert.equal(again.exitCode, 3);
    assert.match(await again.readLog({ all: true }), /received SIGTERM[\s\S]*exiting with code 3/);
  });

  it('adds a host on the fly', async () => {
    const i = await cluster.addHost();
    assert.equal(i, 4);
    names.push(cluster.hostNs(4));
    await cluster.exec(4, ['ping', '-c1', '-W1', cluster.hostAddress(1)]);
  });

  it('destroy() removes every namespace, the temp dir and the marker, and is idempotent', async () => {
    const agent = cluster.startAgent(1, { command: [process.execPath, FAKE_AGENT] });
    await agent.waitForSubnetFile({ timeoutMs: 5000 });
    await cluster.destroy();
    await cluster.destroy();
    assert.equal(agent.running, false);
    assert.equal(cluster.etcd.running, false);
    const left = (await listNetns()).filter((n) => n.startsWith(cluster.prefix));
    assert.deepEqual(left, []);
    assert.equal(existsSync(cluster.tmpDir), false);
    assert.equal(existsSync(markerPath(cluster.prefix)), false);
    assert.throws(() => cluster.startAgent(1), /destroyed/);
  });
});

describe('stale runs', { skip, timeout: 20_000 }, () => {
  // Unique per run, so that concurrent runs of this file do not share them.
  const dead = `ftst-${randomBytes(2).toString('hex')}-`;
  const live = `ftst-${randomBytes(2).toString('hex')}-`;

  after(async () => {
    await deleteNetns(`${dead}h1`);
    await deleteNetns(`${live}h1`);
    spawnSync('rm', ['-f', markerPath(dead), markerPath(live)]);
  });

  it('deletes namespaces whose run is dead and keeps those of a live run', async () => {
    const gone = spawnSync('true');
    assert.ok(gone.pid);
    await mkdir(MARKER_DIR, { recursive: true });
    await writeFile(markerPath(dead), `${gone.pid}\n`);
    await writeFile(markerPath(live), JSON.stringify({ pid: process.pid }));
    await createNetns(`${dead}h1`);
    await createNetns(`${live}h1`);
    // A process left running inside the dead run's namespace is killed too.
    const sleeper = runIn(`${dead}h1`, ['sleep', '30'], { timeoutMs: 20_000 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await poll(async () => (await netnsPids(`${dead}h1`)).length > 0, { what: 'sleep inside the stale namespace', timeoutMs: 3000 });

    const cluster = await createCluster({ hosts: 1, etcd: false });
    try {
      const present = await listNetns();
      assert.equal(present.includes(`${dead}h1`), false, 'stale namespace deleted');
      assert.equal(present.includes(`${live}h1`), true, 'live run namespace kept');
      assert.equal(existsSync(markerPath(dead)), false);
      const err = await sleeper;
      assert.ok(err instanceof CommandError && err.signal === 'SIGKILL', `sleep was killed: ${String(err)}`);
      assert.throws(() => cluster.etcd, /no etcd/);
    } finally {
      await cluster.destroy();
    }
  });
});
