/**
 * End to end, the ipsec backend: three hosts, each agent running its own charon (private /run
 * through the harness's privateDirs: charon's pid file and our VICI socket), one IKE connection
 * and child SA per peer. Pods ping one another; the underlay carries ESP (or UDP 4500 with
 * UDPEncap) and no ICMP between pod addresses; a removed host's connection, SAs and policies
 * go from the others. Needs root and strongswan-charon (scripts/setup.sh).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHARON } from '../../src/backend/ipsec/charon-daemon.js';
import { deleteLease, startHostsWithPods, type DatapathSpec, type HostFacts } from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';
import { pingAll, podIp } from './pod-traffic.js';
import type { Pod } from './pods.js';
import { poll } from '../support/poll.js';

const HOSTS = [1, 2, 3] as const;
const PSK = 'flannel-ts-e2e-'.repeat(7);
const AS_V4: DatapathSpec = { backend: 'host-gw', mode: 'v4' };
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(CHARON) ? `needs ${CHARON} (scripts/setup.sh installs strongswan-charon)` : false;
if (skip) console.log(`# datapath-ipsec: skipped: ${skip}`);

/** Whether the kernel can hold an ESP SA at all (some kernels are built without esp4): probed in a namespace of our own. */
function kernelEspMissing(): string | false {
  if (skip) return false;
  const ns = `ftst-espprobe-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['-n', ns, 'xfrm', 'state', 'add', 'src', '10.0.0.1', 'dst', '10.0.0.2', 'proto', 'esp', 'spi', '0x100', 'mode', 'tunnel',
      'aead', 'rfc4106(gcm(aes))', '0x0102030405060708090a0b0c0d0e0f1011121314', '128'], { encoding: 'utf8' });
    return r.status === 0 ? false : `this kernel cannot hold an ESP SA (ip xfrm state add: ${r.stderr.trim()}); charon's SAs fail with ENOSYS`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
const noEsp = kernelEspMissing();
if (noEsp) console.log(`# datapath-ipsec: traffic and SA checks skipped: ${noEsp}`);

for (const udpEncap of [false, true]) {
  describe(`ipsec backend IPv4${udpEncap ? ' with UDPEncap' : ''}`, { skip, timeout: 60_000 }, () => {
    let cluster: Cluster;
    const agents: Agent[] = [];
    const pods: Pod[] = [];
    const facts: HostFacts[] = [];
    const xfrm = async (i: number, what: 'policy' | 'state') => (await cluster.exec(i, ['ip', 'xfrm', what])).stdout;

    before(async () => {
      cluster = await createCluster({ hosts: HOSTS.length, privateDirs: ['/run'] });
      await cluster.putConfig({ Network: '10.5.0.0/16', Backend: { Type: 'ipsec', PSK, UDPEncap: udpEncap } });
      await startHostsWithPods(cluster, HOSTS, AS_V4, { agents, pods, facts });
    });

    after(async () => {
      await cluster?.destroy();
    });

    it('writes BackendType ipsec and no BackendData; charon installs policies for each peer subnet', async () => {
      for (const f of facts) {
        const raw = await cluster.etcdctl(['get', '--print-value-only', `/coreos.com/network/subnets/${f.net4?.toString().replace('/', '-') ?? ''}`]);
        assert.equal(raw.trim(), `{"PublicIP":"${f.pub4 ?? ''}","PublicIPv6":null,"BackendType":"ipsec"}`);
      }
      for (const i of HOSTS) {
        await poll(async () => {
          const p = await xfrm(i, 'policy');
          return facts.filter((f) => f.host !== i).every((f) => p.includes(`dst ${f.net4?.toString() ?? '?'}`));
        }, { what: `host ${i}: policies for every peer subnet`, timeoutMs: 10_000 });
      }
    });

    it(`pods ping one another over ${udpEncap ? 'UDP 4500' : 'ESP'}, and no pod ICMP crosses the underlay in clear`, { skip: noEsp }, async () => {
      const pcap = join(cluster.hostDir(1), `underlay-${String(udpEncap)}.pcap`);
      const capture = cluster.exec(1, ['timeout', '10', 'tcpdump', '-U', '-n', '-i', cluster.hostIface(1), '-w', pcap, '-c', '40', 'esp or icmp or udp port 4500'], {
        allowFailure: true,
        timeoutMs: 15_000,
      });
      await poll(() => existsSync(pcap), { what: 'tcpdump capturing', timeoutMs: 5000 });
      await pingAll(pods, [4]);
      await capture;
      const text = (await cluster.exec(1, ['tcpdump', '-n', '-r', pcap], { allowFailure: true })).stdout;
      if (udpEncap) assert.match(text, /\.4500 > .*\.4500: UDP-encap: ESP/);
      else assert.match(text, /: ESP\(spi=0x[0-9a-f]+,seq=0x[0-9a-f]+\)/);
      for (const p of pods) assert.ok(!text.includes(`${podIp(p, 4)} >`) && !text.includes(`> ${podIp(p, 4)}:`), `pod ${podIp(p, 4)} in clear:\n${text}`);
    });

    it("a removed host's connection, SAs and policies go from the others", async () => {
      // SAs (states with a SPI; not the kernel's own ACQUIRE placeholders, SPI 0, which expire by themselves).
      const sas = (text: string, ip: string) => text.split(/\n(?=src )/).filter((e) => e.includes(ip) && !/spi 0x0+ /.test(e));
      const gone = facts[2] as HostFacts;
      await agents[2]?.stop();
      assert.equal(await deleteLease(cluster, gone), 1);
      for (const i of [1, 2]) {
        await poll(async () => {
          const [p, s] = [await xfrm(i, 'policy'), await xfrm(i, 'state')];
          return !p.includes(gone.net4?.toString() ?? '?') && sas(s, gone.pub4 ?? '?').length === 0;
        }, { what: `host ${i}: host 3's policies and SAs gone`, timeoutMs: 10_000 });
      }
      if (!noEsp) await pingAll(pods.slice(0, 2), [4]);
    });
  });
}
