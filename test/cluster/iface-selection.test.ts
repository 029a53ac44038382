/**
 * Interface selection in a real host namespace, both ways the agent reads interface facts:
 * through rtnetlink (vxlan, which loads the kernel layer) and through the os module and procfs
 * (alloc, which does not). Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCluster, type Cluster } from './harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

describe('external interface selection in a host namespace', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await createCluster({ hosts: 1 });
  });
  after(async () => {
    await cluster?.destroy();
  });

  for (const backend of ['vxlan', 'alloc']) {
    const cases: { name: string; args: (c: Cluster) => string[]; why: RegExp }[] = [
      { name: 'the default route', args: () => [], why: /because it holds the default IPv4 route/ },
      { name: '-iface by name', args: (c) => [`-iface=${c.hostIface(1)}`], why: /because -iface=/ },
      { name: '-iface by address', args: (c) => [`-iface=${c.hostAddress(1)}`], why: /because -iface=192\.168\.77\.11/ },
      { name: '-iface-can-reach', args: () => ['-iface-can-reach=192.168.77.2'], why: /-iface-can-reach=192\.168\.77\.2/ },
      { name: '-iface-regex on the address', args: () => ['-iface-regex=^192\\.168\\.77\\.'], why: /matches -iface-regex/ },
    ];
    for (const c of cases) {
      it(`${backend}: chooses the underlay interface by ${c.name}`, async () => {
        await cluster.putConfig({ Network: '10.7.0.0/16', Backend: { Type: backend } });
        const agent = cluster.startAgent(1, { args: c.args(cluster) });
        try {
          await agent.waitForSubnetFile({ timeoutMs: 10_000, fresh: true });
          const line = (await agent.readLog()).split('\n').find((l) => l.includes('Using interface')) ?? '';
          assert.ok(line.includes(`Using interface ${cluster.hostIface(1)} with address ${cluster.hostAddress(1)} (MTU 1500)`), line);
          assert.match(line, c.why);
        } finally {
          await agent.stop();
          await cluster.exec(1, ['ip', 'link', 'del', 'flannel.1'], { allowFailure: true });
          await cluster.etcdctl(['del', '--prefix', '/coreos.com/network/subnets/']);
        }
      });
    }
  }

  it('-iface naming no interface here: exit 1 naming it', async () => {
    await cluster.putConfig({ Network: '10.7.0.0/16', Backend: { Type: 'vxlan' } });
    const agent = cluster.startAgent(1, { args: ['-iface=nosuch0'] });
    assert.equal(await agent.waitForExit({ timeoutMs: 10_000 }), 1);
    assert.match(await agent.readLog(), /nosuch0/);
  });
});
