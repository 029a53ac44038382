/**
 * Migrating an ipsec host from Go flannel to flannel-ts and back, the control plane: hosts 1 and
 * 2 are Go flannel hosts (their leases as Go's ipsec backend wrote them, `BackendType` ipsec and
 * no BackendData; host 1's subnet.env and chains). Go flanneld leaves no strongSwan state behind
 * on SIGTERM: its charon (its child, VICI on /var/run/charon.vici) goes with it, taking its SAs
 * and policies. flannel-ts starts on host 1: it keeps the lease (byte for byte) and the subnet,
 * and its charon gets the connection to host 2, the Go host still there (trap policies for
 * host 2's subnet, tunnel to its public IP). On SIGTERM flannel-ts's charon goes the same way,
 * and Go's charon can start again on the host. Packets cannot be checked here when the kernel has
 * no ESP (see datapath-ipsec.test.ts). Needs root and strongswan-charon.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHARON } from '../../src/backend/ipsec/charon-daemon.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { poll } from '../support/poll.js';
import { parseSubnetEnv } from './agent.js';
import { readLeases } from './datapath-checks.js';
import { goIpsecLeaseValue } from './go-flannel-cloud-state.js';
import { assertGoChainsKept, etcdLeaseOf, flannelRuleLines, goChainLines, goLeaseKey, goSubnetEnv, layGoChains, putGoLease, writeGoSubnetEnv } from './go-flannel-state.js';
import { createCluster, type Cluster } from './harness.js';
import { readLink } from './kernel-state.js';
import { waitForRemoteLeases } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(CHARON) ? `needs ${CHARON} (scripts/setup.sh installs strongswan-charon)` : false;
const NETWORK = IPNetwork.parse('10.5.0.0/16');
const GO_SUBNETS = [IPNetwork.parse('10.5.77.0/24'), IPNetwork.parse('10.5.78.0/24')] as const;
const PSK = 'flannel-ts-migration-'.repeat(5);
const SUBNET_FILE = '/run/flannel/subnet.env';
/** flannel-ts's VICI socket (IPSEC_RUN_DIR) and Go flannel's (charon's default). */
const TS_VICI = 'unix:///run/flannel/ipsec/charon.vici';
const GO_VICI = 'unix:///var/run/charon.vici';

describe('migrating an ipsec host from Go flannel to flannel-ts and back', { skip, timeout: 40_000 }, () => {
  let cluster: Cluster;
  let goValues: [string, string][] = [];
  let goEnv = '';
  const subnetFile = () => join(cluster.hostDir(1), 'private', SUBNET_FILE);
  const sortedLeases = async () => [...(await readLeases(cluster))].sort(([a], [b]) => a.localeCompare(b));
  const policies = async () => (await cluster.exec(1, ['ip', 'xfrm', 'policy'])).stdout;
  /** The policy blocks (one per `src ... dst ...` entry) that name host 2's subnet. */
  const peerPolicies = async () => (await policies()).split(/\n(?=src )/).filter((p) => p.includes(GO_SUBNETS[1].toString()));

  before(async () => {
    cluster = await createCluster({ hosts: 2, privateDirs: ['/run'] });
    await cluster.putConfig({ Network: NETWORK.toString(), Backend: { Type: 'ipsec', PSK } });
    for (const [k, subnet] of GO_SUBNETS.entries()) {
      const value = goIpsecLeaseValue(cluster.hostAddress(k + 1));
      await putGoLease(cluster, subnet, value);
      goValues.push([goLeaseKey(subnet), value]);
    }
    goValues = goValues.sort(([a], [b]) => a.localeCompare(b));
    // Go's ipsec network reports the interface's MTU.
    const mtu = (await readLink(cluster, 1, cluster.hostIface(1)))?.mtu ?? 1500;
    goEnv = goSubnetEnv(NETWORK, GO_SUBNETS[0], mtu, true);
    await writeGoSubnetEnv(subnetFile(), goEnv);
    await layGoChains(cluster, 1, NETWORK, GO_SUBNETS[0]);
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("flannel-ts takes over host 1: same lease and subnet, and its charon gets the Go host as a peer", async () => {
    const agent = cluster.startAgent(1, { args: ['-ip-masq', `-subnet-file=${SUBNET_FILE}`] });
    await agent.waitForLog(/acquired lease 10\.5\.77\.0\/24/, { timeoutMs: 15_000 });
    await waitForRemoteLeases(agent, 1, { timeoutMs: 10_000 });
    assert.deepEqual(await sortedLeases(), goValues, "the same two leases, Go's values byte for byte");
    assert.deepEqual(parseSubnetEnv(await readFile(subnetFile(), 'utf8')), parseSubnetEnv(goEnv), 'the same subnet and MTU in subnet.env');
    // charon trapped host 2's subnet: policies out and in, tunnel between the two public IPs.
    const [pub1, pub2] = [cluster.hostAddress(1), cluster.hostAddress(2)];
    const peer = await poll(async () => {
      const p = await peerPolicies();
      return p.some((x) => x.includes('dir out') && x.includes(`tmpl src ${pub1} dst ${pub2}`)) ? p : undefined;
    }, { what: "host 1's outbound policy to host 2's subnet through host 2", timeoutMs: 10_000 });
    assert.ok(peer.some((x) => x.includes('dir in') && x.includes(`tmpl src ${pub2} dst ${pub1}`)), `inbound policy from host 2:\n${peer.join('\n')}`);
    const conns = (await cluster.exec(1, ['swanctl', '--list-conns', '--uri', TS_VICI])).stdout;
    // Named as Go's charon connections are (<local IP>-<local subnet>-<remote subnet>-<remote IP>, child <local>-<remote>).
    const [s1, s2] = GO_SUBNETS.map((n) => n.toString());
    assert.ok(conns.startsWith(`${pub1}-${s1}-${s2}-${pub2}: `), `an IKE connection to host 2, named as Go names it:\n${conns}`);
    assert.match(conns, new RegExp(`^  local:\\s+${pub1}\n  remote:\\s+${pub2}\n`, 'm'), 'between the two public IPs');
    assert.match(conns, new RegExp(`^  ${s1}-${s2}: TUNNEL`, 'm'), "child SA: this host's subnet to host 2's, tunnel mode");
    await assertGoChainsKept(cluster, 1, NETWORK, GO_SUBNETS[0]);
    assert.deepEqual(await agent.readErrors(), [], 'errors in the log of host 1');
  });

  it("rolls back: SIGTERM leaves lease, subnet.env and chains, takes charon and its policies, and Go's charon can start", async () => {
    const agent = cluster.agents.find((a) => a.host === 1);
    assert.ok(agent);
    assert.equal(await agent.stop('SIGTERM'), 0, 'flannel-ts on host 1 exits 0 on SIGTERM');
    assert.deepEqual(await sortedLeases(), goValues, "the leases in Go flannel's byte format");
    assert.equal((await etcdLeaseOf(cluster, goLeaseKey(GO_SUBNETS[0])))?.granted, 86_400, 'under a 24 h etcd lease');
    assert.deepEqual(parseSubnetEnv(await readFile(subnetFile(), 'utf8')), parseSubnetEnv(goEnv), 'subnet.env as Go flannel reads it');
    const want = goChainLines(NETWORK, GO_SUBNETS[0]);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'nat'), want.nat);
    assert.deepEqual(await flannelRuleLines(cluster, 1, 'filter'), want.filter);
    // As Go's charon on its way out: no policy of the peer left, no pid file to block the next charon.
    assert.deepEqual(await peerPolicies(), [], 'no policy for host 2 left');
    assert.equal(existsSync(join(cluster.hostDir(1), 'private', '/run/charon.pid')), false, 'charon.pid gone');
    // Go flanneld starts charon as it is installed (its default strongswan.conf, VICI on /var/run/charon.vici).
    const goCharon = cluster.startAgent(1, { command: [CHARON], args: [], defaultArgs: false });
    try {
      await poll(
        async () => {
          if (!goCharon.running) throw new Error(`charon exited with ${goCharon.exitCode}: ${(await goCharon.readLog()).slice(-500)}`);
          return (await cluster.exec(1, ['swanctl', '--stats', '--uri', GO_VICI], { allowFailure: true })).stdout.includes('uptime') || undefined;
        },
        { what: "a charon as Go flanneld starts it to answer on /var/run/charon.vici", timeoutMs: 10_000, intervalMs: 100 },
      );
    } finally {
      await goCharon.stop('SIGTERM');
    }
  });
});
