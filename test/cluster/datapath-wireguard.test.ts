/**
 * End-to-end data path of the wireguard backend over wireguard-go (this kernel has no WireGuard
 * module, so the userspace fallback is what runs): three hosts, IPv4 and dual-stack (`separate`).
 * Each host gets private /run/wireguard (wireguard-go's UAPI sockets) and /run/flannel (the key
 * file) through the harness's privateDirs. Needs root, wireguard-go and wireguard-tools.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publicKeyOf, parseWireguardKey } from '../../src/backend/wireguard/wireguard-key.js';
import type { IPNetwork } from '../../src/ip/ip-network.js';
import { flanneldCommand } from '../support/implementation.js';
import { runIn } from '../support/netns.js';
import { poll } from '../support/poll.js';
import { SUBNETS_PREFIX, families, hostFacts, leaseKeyOf, networkConfig, readLeases, waitForSubnetEnv, type HostFacts, type Mode } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { readAddresses, readLink } from './kernel-state.js';
import { pingAll, podIp, startPingStream } from './pod-traffic.js';
import { addPod, type Pod } from './pods.js';
import { kubeAgentArgs, startClusterKubeApi, type ClusterKubeApi } from './kube-api-node.js';

const HOSTS = [1, 2, 3] as const;
const PORT = 51820;
const PORT6 = 51821;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip =
  process.getuid?.() !== 0 ? 'needs root' : !has('wireguard-go') || !has('wg') ? 'needs wireguard-go and wireguard-tools' : false;

interface WgFacts extends HostFacts {
  readonly publicKey: string;
}

/** `wg show <dev> dump`'s peers as `pubkey endpoint allowed-ips keepalive` lines, sorted. */
async function wgPeers(cluster: Cluster, host: number, dev: string): Promise<string[]> {
  const { stdout } = await cluster.exec(host, ['wg', 'show', dev, 'dump']);
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => {
      const [pk, , endpoint, ips, , , , keepalive] = l.split('\t');
      return `${pk} ${endpoint} ${ips?.split(',').sort().join(',')} ${keepalive}`;
    })
    .sort();
}

/**
 * What `wg show <dev> dump` should list on `self` for `peers`: per family's device (separate), or
 * on the one device with both subnets, reached over IPv4 (auto between private addresses).
 */
function expectedPeers(self: number, peers: readonly WgFacts[], family: 4 | 6 | 'both'): string[] {
  return peers
    .filter((p) => p.host !== self)
    .map((p) => {
      if (family === 'both') {
        const nets = [p.net4, p.net6].filter((n) => n !== undefined).map(String).sort().join(',');
        return `${p.publicKey} ${p.pub4}:${PORT} ${nets} off`;
      }
      const net = family === 4 ? p.net4 : p.net6;
      const endpoint = family === 4 ? `${p.pub4}:${PORT}` : `[${p.pub6}]:${PORT6}`;
      return `${p.publicKey} ${endpoint} ${net?.toString()} off`;
    })
    .sort();
}

async function waitForPeers(cluster: Cluster, host: number, dev: string, want: string[], timeoutMs = 8000): Promise<void> {
  let last: string[] = [];
  await poll(
    async () => {
      last = await wgPeers(cluster, host, dev).catch(() => []);
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { what: `wg peers of ${dev} on host ${host}`, timeoutMs, intervalMs: 100 },
  ).catch(() => assert.deepEqual(last, want, `host ${host}: peers of ${dev}`));
}

/** The pids of wireguard-go processes in host i's namespace (`ip netns pids` + /proc/<pid>/comm). */
async function wireguardGoPids(cluster: Cluster, host: number): Promise<number[]> {
  const { stdout } = await runIn(cluster.underlayNs, ['ip', 'netns', 'pids', cluster.hostNs(host)]);
  const pids = stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  const comm = await Promise.all(pids.map((p) => readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')));
  return pids.filter((_, k) => comm[k]?.trim() === 'wireguard-go');
}

/**
 * tcpdump on the underlay bridge, our child (`ip netns exec <underlay> tcpdump -n -l ...`):
 * resolves once tcpdump says it is listening; stop() ends it (SIGTERM to its pid) and resolves
 * with what it printed.
 */
async function startCapture(cluster: Cluster, filter: readonly string[]): Promise<{ readonly output: () => string; stop(): Promise<string> }> {
  const child = spawn('ip', ['netns', 'exec', cluster.underlayNs, 'tcpdump', '-n', '-l', '--immediate-mode', '-i', cluster.bridge, ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise<void>((r) => child.once('close', () => r()));
  try {
    await poll(() => /listening on/.test(err) || child.exitCode !== null, { what: 'tcpdump to listen', timeoutMs: 5000, intervalMs: 20 });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  if (child.exitCode !== null) throw new Error(`tcpdump ended: ${err}`);
  return {
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      await ended;
      return out;
    },
  };
}

function describeWireguard(mode: Mode, wgMode: 'separate' | 'auto' = 'separate'): void {
  const fams = families(mode);
  const single = wgMode !== 'separate';
  const devices = (f: 4 | 6) => (f === 4 || single ? 'flannel-wg' : 'flannel-wg-v6');
  /** The devices and what each lists as peers. */
  const deviceFamilies: [string, 4 | 6 | 'both'][] = single ? [['flannel-wg', 'both']] : fams.map((f) => [devices(f), f]);
  const name = `${mode === 'v4' ? 'IPv4' : mode === 'v6' ? 'IPv6-only' : 'dual-stack'}${single ? ` Mode ${wgMode}` : ''}`;
  describe(`wireguard (userspace) ${name}`, { skip, timeout: 60_000 }, () => {
    let cluster: Cluster;
    const agents: Agent[] = [];
    const pods: Pod[] = [];
    const facts: WgFacts[] = [];

    before(async () => {
      cluster = await createCluster({ hosts: HOSTS.length, ipv6: mode !== 'v4', privateDirs: ['/run/wireguard', '/run/flannel'] });
      await cluster.putConfig(networkConfig({ backend: 'vxlan', mode }, { Type: 'wireguard', ...(single ? { Mode: wgMode } : {}) }));
      const envs: Record<string, string>[] = [];
      for (const i of HOSTS) {
        const a = cluster.startAgent(i);
        agents.push(a);
        envs.push(await waitForSubnetEnv(a, mode));
      }
      for (const i of HOSTS) {
        const env = envs[i - 1] ?? {};
        pods.push(await addPod(cluster, i, `pod${i}`, env));
        const key = parseWireguardKey((await cluster.exec(i, ['cat', '/run/flannel/wgkey'])).stdout);
        assert.ok(key, `host ${i}: /run/flannel/wgkey holds a key`);
        facts.push({ ...(await hostFacts(cluster, i, { backend: 'host-gw', mode }, env)), publicKey: publicKeyOf(key).toString('base64') });
      }
    });

    after(async () => {
      await cluster?.destroy();
    });

    it('runs wireguard-go and says so', async () => {
      for (const a of agents) await a.waitForLog(/the kernel has no WireGuard .*using wireguard-go/);
      for (const i of HOSTS) assert.equal((await wireguardGoPids(cluster, i)).length, deviceFamilies.length, `host ${i}: one wireguard-go per device`);
    });

    it("programs flannel's devices: address, MTU, up, one route for the network", async () => {
      for (const i of HOSTS) {
        const own = facts[i - 1];
        assert.ok(own);
        for (const f of fams) {
          const link = await readLink(cluster, i, devices(f));
          assert.ok(link, `host ${i}: ${devices(f)}`);
          assert.equal(link.kind, 'tun');
          assert.equal(link.mtu, 1420, `host ${i}: ${devices(f)} MTU (1500 - 80)`);
          assert.ok(link.flags.includes('UP'));
          const subnet: IPNetwork | undefined = f === 4 ? own.net4 : own.net6;
          assert.ok(subnet);
          assert.deepEqual(await readAddresses(cluster, i, devices(f), f), [`${subnet.ip.toString()}/${f === 4 ? 32 : 128}`]);
          const { stdout } = await cluster.exec(i, ['ip', `-${f}`, 'route', 'show', 'dev', devices(f)]);
          const routes = stdout.split('\n').filter((l) => l !== '' && !l.startsWith('fe80'));
          const network = f === 4 ? '10.5.0.0/16' : 'fc00:5::/48';
          // (IPv6 routes have no scope to show.)
          const want = (r: string) => r.startsWith(`${network} `) && !r.includes(' via ') && (f === 6 || r.includes('scope link'));
          assert.ok(routes.some(want), `host ${i}: route ${network} dev ${devices(f)}: ${routes.join(' | ')}`);
        }
      }
    });

    it("writes the leases in Go flannel's exact format", async () => {
      const leases = await readLeases(cluster);
      const want = new Map(
        facts.map((f) => {
          let v = `{"PublicIP":"${f.pub4 ?? '0.0.0.0'}","PublicIPv6":${f.pub6 ? `"${f.pub6}"` : 'null'},"BackendType":"wireguard"`;
          if (fams.includes(4)) v += `,"BackendData":{"PublicKey":"${f.publicKey}","Port":${PORT}}`;
          // (One device: the port it listens on, where flannel writes ListenPortV6.)
          if (fams.includes(6)) v += `,"BackendV6Data":{"PublicKey":"${f.publicKey}","Port":${single ? PORT : PORT6}}`;
          return [leaseKeyOf(f), `${v}}`];
        }),
      );
      assert.deepEqual(leases, want);
      assert.ok([...leases.keys()].every((k) => k.startsWith(SUBNETS_PREFIX)));
    });

    it('subnet.env carries the device MTU', () => {
      for (const p of pods) assert.equal(p.mtu, 1420, `FLANNEL_MTU of host ${p.host}`);
    });

    it('wg show lists every other host as a peer: key, endpoint, allowed IPs', async () => {
      for (const i of HOSTS) for (const [dev, f] of deviceFamilies) await waitForPeers(cluster, i, dev, expectedPeers(i, facts, f));
    });

    it('every pod reaches every other pod', async () => {
      await pingAll(pods, fams);
    });

    it('carries pod traffic encrypted: only UDP to the WireGuard port on the underlay', async () => {
      const [a, b] = pods;
      assert.ok(a && b);
      const f = fams[0] as 4 | 6;
      const capture = await startCapture(cluster, ['not', 'tcp', 'port', '2379']);
      await a.exec(['ping', '-n', '-c', '5', '-i', '0.2', podIp(b, f)], { timeoutMs: 10_000 });
      const isWg = (l: string) => /UDP/.test(l) && (l.includes(`.${PORT}:`) || l.includes(`.${PORT6}:`));
      // What ping saw may still be on its way through tcpdump's output.
      await poll(() => capture.output().split('\n').filter(isWg).length >= 10, { what: '10 WireGuard packets in the capture', timeoutMs: 3000, intervalMs: 20 }).catch(() => {});
      const lines = (await capture.stop()).split('\n').filter((l) => l.trim() !== '');
      const podAddrs = pods.flatMap((p) => [p.v4?.ip, p.v6?.ip]).filter((x) => x !== undefined);
      const leaked = lines.filter((l) => podAddrs.some((ip) => l.includes(` ${ip} `) || l.includes(` ${ip}:`) || l.includes(` ${ip}.`)));
      assert.deepEqual(leaked, [], 'no packet on the underlay shows a pod address');
      const wg = lines.filter(isWg);
      assert.ok(wg.length >= 10, `at least 10 WireGuard packets (5 pings there and back), saw ${wg.length}:\n${lines.join('\n')}`);
      const icmp = lines.filter((l) => /ICMP echo/.test(l));
      assert.deepEqual(icmp, [], 'no ICMP echo in the clear');
    });

    if (mode === 'v4') {
      it('restarts under a 20 pps pod-to-pod ping losing at most one packet (the device and its peers are adopted)', async (t) => {
        const [a, b] = pods;
        assert.ok(a && b);
        const pidsBefore = await wireguardGoPids(cluster, 1);
        const stream = startPingStream(a, podIp(b, 4), 80, 0.05);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await agents[0]?.stop(), 0);
        const again = cluster.startAgent(1);
        agents[0] = again;
        await again.waitForLog(/reusing device flannel-wg \(userspace WireGuard: its wireguard-go answers\)/);
        await again.waitForSubnetFile({ fresh: true });
        const { sent, received } = await stream.done;
        t.diagnostic(`restart under ping: ${sent - received} of ${sent} lost`);
        assert.ok(sent - received <= 1, `lost ${sent - received} of ${sent}`);
        assert.deepEqual(await wireguardGoPids(cluster, 1), pidsBefore, 'the same wireguard-go');
      });

      it('a re-keyed host (key file deleted, agent restarted): every peer takes the new key', async () => {
        assert.equal(await agents[1]?.stop(), 0);
        await cluster.exec(2, ['rm', '-f', '/run/flannel/wgkey']);
        const again = cluster.startAgent(2);
        agents[1] = again;
        await again.waitForLog(/generated the private key into \/run\/flannel\/wgkey; public key (\S+)/);
        const m = /public key (\S+)/.exec((await again.readLog()).split('\n').find((l) => l.includes('generated the private key')) ?? '');
        assert.ok(m?.[1] && m[1] !== facts[1]?.publicKey, 'a new key');
        facts[1] = { ...(facts[1] as WgFacts), publicKey: m[1] };
        for (const i of HOSTS) await waitForPeers(cluster, i, 'flannel-wg', expectedPeers(i, facts, 4));
        await pingAll(pods, fams);
      });

      it('puts back a deleted network route at once', async () => {
        await cluster.exec(1, ['ip', 'route', 'del', '10.5.0.0/16', 'dev', 'flannel-wg']);
        await poll(async () => (await cluster.exec(1, ['ip', 'route', 'show', '10.5.0.0/16', 'dev', 'flannel-wg'])).stdout.trim() !== '', {
          what: 'the route 10.5.0.0/16 dev flannel-wg back on host 1',
          timeoutMs: 3000,
          intervalMs: 50,
        });
        await pingAll(pods, fams);
      });

      it('heals a killed wireguard-go: restarted, peers re-set, pods reach each other', async () => {
        const before = await wireguardGoPids(cluster, 1);
        assert.equal(before.length, 1);
        process.kill(before[0] as number, 'SIGKILL');
        await agents[0]?.waitForLog(/flannel-wg is gone \(wireguard-go ended\)/);
        await poll(async () => {
          const now = await wireguardGoPids(cluster, 1);
          return now.length === 1 && now[0] !== before[0];
        }, { what: 'wireguard-go restarted on host 1', timeoutMs: 8000, intervalMs: 100 });
        await waitForPeers(cluster, 1, 'flannel-wg', expectedPeers(1, facts, 4));
        await pingAll(pods, fams);
      });
    }

    it('logs no errors', async () => {
      for (const a of agents) {
        const errors = (await a.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
        assert.deepEqual(errors, [], `errors in the log of host ${a.host}`);
      }
    });

    if (mode === 'v4') {
      it('skips a peer lease with malformed BackendData with an error naming it; the others keep working', async () => {
        const key = `${SUBNETS_PREFIX}10.5.200.0-24`;
        await cluster.etcdctl(['put', key, '{"PublicIP":"192.168.77.99","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"bogus","Port":51820}}']);
        for (const a of agents) await a.waitForLog(/E\d{4} .*skipping lease 10\.5\.200\.0\/24: peer 192\.168\.77\.99: BackendData\.PublicKey "bogus" is not a base64 32-byte key/);
        for (const i of HOSTS) await waitForPeers(cluster, i, 'flannel-wg', expectedPeers(i, facts, 4));
        await pingAll(pods, fams);
        await cluster.etcdctl(['del', key]);
      });
    }

    it("removes a removed host's peer everywhere", async () => {
      const gone = facts[2];
      assert.ok(gone);
      await agents[2]?.kill();
      assert.equal(Number((await cluster.etcdctl(['del', leaseKeyOf(gone)])).trim()), 1);
      for (const i of [1, 2]) for (const [dev, f] of deviceFamilies) await waitForPeers(cluster, i, dev, expectedPeers(i, facts.slice(0, 2), f));
      await pingAll(pods.slice(0, 2), fams);
    });

    if (mode === 'v4') {
      it('-cleanup deletes the device, which ends wireguard-go', async () => {
        const a = agents[0];
        assert.ok(a);
        assert.equal(await a.stop(), 0);
        assert.equal((await wireguardGoPids(cluster, 1)).length, 1, 'wireguard-go outlives its agent (a restart keeps the tunnel)');
        const res = await cluster.exec(1, [...flanneldCommand(), '-cleanup', `-subnet-file=${a.subnetFile}`], { allowFailure: true });
        assert.equal(res.exitCode, 0, res.stderr);
        assert.match(res.stderr, /deleted device flannel-wg/);
        assert.equal(await readLink(cluster, 1, 'flannel-wg'), undefined);
        await poll(async () => (await wireguardGoPids(cluster, 1)).length === 0, { what: 'wireguard-go on host 1 to end', timeoutMs: 5000 });
      });
    }
  });
}

describeWireguard('v4');
describeWireguard('dual');
describeWireguard('v6');
describeWireguard('dual', 'auto');

describe('wireguard in kube mode (stand-in API server): annotations carry flannel\'s values', { skip, timeout: 60_000 }, () => {
  const P = 'flannel.alpha.coreos.com/';
  let cluster: Cluster;
  let api: ClusterKubeApi;
  const pods: Pod[] = [];
  before(async () => {
    cluster = await createCluster({ hosts: 3, etcd: false, ipv6: true, privateDirs: ['/run/wireguard', '/run/flannel'] });
    api = await startClusterKubeApi(cluster);
    await api.writeNetConf({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00:44::/48', Backend: { Type: 'wireguard' } });
    for (const i of HOSTS) api.server.store.create({ name: `node-${i}`, podCIDRs: [`10.244.${i}.0/24`, `fc00:44:0:${i}::/64`] });
    const envs = await Promise.all(
      HOSTS.map((i) => cluster.startAgent(i, { args: kubeAgentArgs(api), env: { NODE_NAME: `node-${i}` } }).waitForSubnetFile({ timeoutMs: 20_000 })),
    );
    for (const i of HOSTS) pods.push(await addPod(cluster, i, `pod${i}`, envs[i - 1] ?? {}));
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('publishes backend-type wireguard and the public key and ports as flannel does', async () => {
    for (const i of HOSTS) {
      const key = parseWireguardKey((await cluster.exec(i, ['cat', '/run/flannel/wgkey'])).stdout);
      assert.ok(key);
      const pub = publicKeyOf(key).toString('base64');
      const node = api.server.store.get(`node-${i}`);
      const ours = Object.fromEntries(Object.entries(node?.metadata.annotations ?? {}).filter(([k]) => k.startsWith(P)));
      assert.deepEqual(ours, {
        [`${P}backend-data`]: `{"PublicKey":"${pub}","Port":${PORT}}`,
        [`${P}backend-type`]: 'wireguard',
        [`${P}backend-v6-data`]: `{"PublicKey":"${pub}","Port":${PORT6}}`,
        [`${P}kube-subnet-manager`]: 'true',
        [`${P}public-ip`]: cluster.hostAddress(i),
        [`${P}public-ipv6`]: cluster.hostAddress6(i),
      });
    }
  });

  it('every pod reaches every other pod over both families', async () => {
    await pingAll(pods, [4, 6], 15_000);
  });
});

describe('wireguard bad input: exit 1 naming the field or file, no lease, no device', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  let nodeOnly: string;
  before(async () => {
    cluster = await createCluster({ hosts: 1, privateDirs: ['/run/wireguard', '/run/flannel'] });
    // A PATH with node but without wireguard-go.
    nodeOnly = join(cluster.tmpDir, 'node-only');
    await mkdir(nodeOnly);
    await symlink(process.execPath, join(nodeOnly, 'node'));
    // ... and what the harness's private-directory wrapper runs.
    for (const tool of ['unshare', 'sh', 'mkdir', 'mount']) {
      const path = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      await symlink(path, join(nodeOnly, tool));
    }
  });
  after(async () => {
    await cluster?.destroy();
  });

  const cases: { name: string; backend: Record<string, unknown>; env?: () => Promise<Record<string, string>>; says: RegExp }[] = [
    { name: 'an unknown Mode', backend: { Mode: 'bogus' }, says: /Backend\.Mode="bogus": must be one of separate, auto, ipv4, ipv6/ },
    { name: 'a PSK that is not a 32-byte key', backend: { PSK: 'c2hvcnQ=' }, says: /Backend\.PSK="<8 characters, not shown>"/ },
    { name: 'a port out of range', backend: { ListenPort: 70000 }, says: /Backend\.ListenPort=70000: must be between 1 and 65535/ },
    {
      name: 'a malformed key file',
      backend: {},
      env: async () => {
        const file = join(cluster.hostDir(1), 'badkey');
        await writeFile(file, 'garbage\n', { mode: 0o600 });
        return { WIREGUARD_KEY_FILE: file };
      },
      says: /private key file \S+\/badkey: does not hold a WireGuard private key/,
    },
    {
      name: 'wireguard-go missing on a kernel without WireGuard',
      backend: {},
      env: async () => ({ PATH: `${nodeOnly}:/usr/sbin:/sbin` }),
      says: /the kernel has no WireGuard and wireguard-go is not installed \(not found in PATH/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await cluster.putConfig({ Network: '10.5.0.0/16', Backend: { Type: 'wireguard', ...c.backend } });
      const a = cluster.startAgent(1, { env: c.env ? await c.env() : undefined });
      assert.equal(await a.waitForExit({ timeoutMs: 10_000 }), 1);
      assert.match(await a.readLog(), c.says);
      assert.equal((await readLeases(cluster)).size, 0, 'no lease written');
      assert.equal(await readLink(cluster, 1, 'flannel-wg'), undefined, 'no device left');
      assert.deepEqual(await wireguardGoPids(cluster, 1), []);
    });
  }
});
