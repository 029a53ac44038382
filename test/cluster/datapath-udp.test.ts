/**
 * End to end, the udp backend: three hosts, each with flannel0 (the TUN device of its agent's
 * forwarding thread), MTU 1472, the subnet's /32 and one route for the whole network through
 * it; Go flannel's lease value (no BackendType); pods pinging one another and an iperf3
 * transfer through the UDP tunnel; a destination no peer holds, and a removed host, answered
 * with ICMP net unreachable; the device going with the agent. Needs root and the built addon.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { leaseKeyOf, readLeases, startHostsWithPods, type DatapathSpec, type HostFacts } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { linkNames, readAddresses, readLink, readRoutes, routeLine } from './kernel-state.js';
import { iperf, pingAll, podIp } from './pod-traffic.js';
import type { Pod } from './pods.js';
import { poll } from '../support/poll.js';

const HOSTS = [1, 2, 3] as const;
const NETWORK = '10.5.0.0/16';
const ADDON = fileURLToPath(new URL('../../native/tun.node', import.meta.url));
const AS_V4: DatapathSpec = { backend: 'host-gw', mode: 'v4' };
/** A TCP connection attempt from a pod (1 s): Python's error text, or "connected". */
async function tcpConnect(pod: Pod, ip: string): Promise<string> {
  const script = `import socket\ntry:\n  socket.create_connection(("${ip}", 80), timeout=1)\n  print("connected")\nexcept OSError as e:\n  print(e)`;
  return (await pod.exec(['python3', '-c', script], { allowFailure: true, timeoutMs: 5000 })).stdout;
}

/** Sends 32 MiB of seeded pseudo-random bytes to argv[1]:5301 in uneven writes; prints length and SHA-256. */
const SENDER = `import hashlib, random, socket, sys
r = random.Random(7); data = r.randbytes(32 << 20); s = socket.create_connection((sys.argv[1], 5301)); i = 0
while i < len(data):
    n = r.randint(1, 200000); s.sendall(data[i:i + n]); i += n
s.close(); print(len(data), hashlib.sha256(data).hexdigest())`;
/** Accepts one connection on 5301, reads to the end; prints length and SHA-256. */
const RECEIVER = `import hashlib, socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 5301)); l.listen(1); c, _ = l.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())`;

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(ADDON) && !process.env.FLANNEL_TS_PACKAGED ? `needs the TUN addon (${ADDON}): make -C native` : false;

describe('udp backend IPv4', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  const agents: Agent[] = [];
  const pods: Pod[] = [];
  const facts: HostFacts[] = [];

  before(async () => {
    cluster = await createCluster({ hosts: HOSTS.length });
    await cluster.putConfig({ Network: NETWORK, Backend: { Type: 'udp' } });
    await startHostsWithPods(cluster, HOSTS, AS_V4, { agents, pods, facts });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('makes flannel0: a TUN device, MTU 1472, the subnet address /32, up, the network routed through it', async () => {
    for (const i of HOSTS) {
      const link = await readLink(cluster, i, 'flannel0');
      assert.ok(link, `host ${i}: flannel0`);
      assert.equal(link.kind, 'tun');
      assert.equal(link.mtu, 1472);
      assert.ok(link.flags.includes('UP'));
      assert.deepEqual(await readAddresses(cluster, i, 'flannel0', 4), [`${facts[i - 1]?.net4?.ip.toString()}/32`]);
      const routes = (await readRoutes(cluster, i, 4)).filter((r) => r.dev === 'flannel0').map(routeLine);
      assert.deepEqual(routes, [`${NETWORK} dev flannel0`]);
    }
    for (const p of pods) assert.equal(p.mtu, 1472, `FLANNEL_MTU of host ${p.host}`);
  });

  it("writes Go flannel's lease value for udp (no BackendType)", async () => {
    const want = new Map(facts.map((f) => [leaseKeyOf(f), `{"PublicIP":"${f.pub4}","PublicIPv6":null}`]));
    assert.deepEqual(await readLeases(cluster), want);
  });

  it('every pod reaches every other pod', async () => {
    await pingAll(pods, [4]);
  });

  it('carries an iperf3 transfer pod to pod', async () => {
    const [a, b] = pods;
    assert.ok(a && b);
    const r = await iperf(a, b, 4, 2);
    assert.ok(r.bytes > 0 && r.bitsPerSecond > 0, `iperf3 moved ${r.bytes} bytes at ${r.bitsPerSecond} bit/s`);
  });

  it('carries 32 MiB over TCP byte for byte, both ways (segmented into datagrams, coalesced back)', async () => {
    const [a, b] = pods;
    assert.ok(a && b);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const server = to.exec(['python3', '-c', RECEIVER], { timeoutMs: 30_000 });
      await poll(async () => (await to.exec(['ss', '-Hltn', 'sport = :5301'])).stdout.trim() !== '', { what: 'the receiver to listen', timeoutMs: 5000, intervalMs: 50 });
      const sent = (await from.exec(['python3', '-c', SENDER, podIp(to, 4)], { timeoutMs: 30_000 })).stdout.trim();
      const received = (await server).stdout.trim();
      assert.equal(received, sent, `${from.name} -> ${to.name}`);
      assert.match(sent, /^33554432 [0-9a-f]{64}$/);
    }
  });

  it("answers a destination no peer holds with ICMP net unreachable (not for ICMP itself, as RFC 792 asks)", async () => {
    const [a] = pods;
    assert.ok(a);
    assert.match(await tcpConnect(a, '10.5.250.9'), /Network is unreachable/);
  });

  it("forgets a removed host: its pod becomes unreachable, the others still talk", async () => {
    const gone = facts[2];
    const [a, , c] = pods;
    assert.ok(gone && a && c);
    await agents[2]?.kill();
    assert.deepEqual(await linkNames(cluster, 3, 'flannel'), [], 'the TUN device goes with its agent');
    assert.equal(Number((await cluster.etcdctl(['del', leaseKeyOf(gone)])).trim()), 1);
    await poll(async () => /Network is unreachable/.test(await tcpConnect(a, podIp(c, 4))), {
      what: "host 1 to drop host 3's subnet",
      timeoutMs: 8000,
      intervalMs: 100,
    });
    await pingAll(pods.slice(0, 2), [4]);
  });

  it('logs no errors', async () => {
    for (const a of agents.slice(0, 2)) {
      const errors = (await a.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
      assert.deepEqual(errors, [], `errors in the log of host ${a.host}`);
    }
  });

  it('a UDP port in use stops the agent with exit 1 and no lease', async () => {
    for (const a of agents) await a.stop();
    await cluster.etcdctl(['del', '--prefix', '/coreos.com/network/subnets/']);
    // Something else holds UDP 8285 on host 1.
    const holder = cluster.exec(1, ['python3', '-c', 'import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 8285)); print("bound", flush=True); time.sleep(30)'], {
      allowFailure: true,
      timeoutMs: 40_000,
    });
    holder.catch(() => {});
    await poll(async () => (await cluster.exec(1, ['ss', '-Hlun', 'sport = :8285'])).stdout.trim() !== '', { what: 'the port holder', timeoutMs: 5000, intervalMs: 50 });
    const agent = cluster.startAgent(1);
    assert.equal(await agent.waitForExit(), 1);
    assert.match(await agent.readLog(), /bind 192\.168\.\d+\.\d+:8285: Address already in use \(EADDRINUSE\)/);
    assert.equal((await readLeases(cluster)).size, 0, 'no lease written');
    assert.deepEqual(await linkNames(cluster, 1, 'flannel'), [], 'no device left');
  });
});
