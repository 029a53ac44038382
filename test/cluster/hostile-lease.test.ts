/**
 * Hostile leases written straight into etcd (as a compromised or broken host could) against two
 * real vxlan agents: each is refused or skipped with a log line naming it, nothing of it reaches
 * either kernel, and the real peers keep their routes, neighbours, FDB entries and traffic.
 * Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { countLines } from './lease-checks.js';
import {
  SUBNETS_PREFIX,
  expectedHostState,
  hostFacts,
  networkConfig,
  waitForHostState,
  waitForSubnetEnv,
  type DatapathSpec,
  type HostFacts,
  type HostState,
} from './datapath-checks.js';
import { createCluster, type Agent, type Cluster } from './harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const SPEC: DatapathSpec = { backend: 'vxlan', mode: 'v4' };

const value = (publicIP: string, mac: string) => `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;
const re = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));

/** A peer that exists only in etcd: its entries, as vxlan programs them on a host. */
function fakePeer(subnet: string, publicIP: string, mac: string): HostState {
  const ip = subnet.split('/')[0]!;
  return { routes: [`${subnet} via ${ip} dev flannel.1 onlink`], neighbors: [`${ip} lladdr ${mac} PERMANENT`], fdb: [`${mac} dst ${publicIP} self permanent`] };
}

function plus(a: HostState, ...more: HostState[]): HostState {
  const all = [a, ...more];
  return {
    routes: all.flatMap((s) => s.routes).sort(),
    neighbors: all.flatMap((s) => s.neighbors).sort(),
    fdb: all.flatMap((s) => s.fdb).sort(),
  };
}

describe('hostile leases in etcd (vxlan, 2 agents)', { skip, timeout: 60_000 }, () => {
  let cluster: Cluster;
  let agents: Agent[];
  let facts: HostFacts[];

  before(async () => {
    cluster = await createCluster({ hosts: 2 });
    await cluster.putConfig(networkConfig(SPEC));
    agents = [cluster.startAgent(1), cluster.startAgent(2)];
    const envs = await Promise.all(agents.map((a) => waitForSubnetEnv(a, SPEC.mode)));
    facts = await Promise.all(envs.map((env, i) => hostFacts(cluster, i + 1, SPEC, env)));
    for (const h of [1, 2]) await waitForHostState(cluster, h, SPEC, expectedHostState(cluster, SPEC, h, facts), 10_000);
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('refuses or skips each one, naming it, programs nothing of them, and keeps the real peers working', async () => {
    const [h1, h2] = facts as [HostFacts, HostFacts];
    const net1 = h1.net4 as IPNetwork;
    const net2 = h2.net4 as IPNetwork;
    const wide = IPNetwork.of(net1.ip, 23);
    const host1IP = cluster.hostAddress(1);
    const hostile: Array<{ key: string; value: string; logs: Partial<Record<1 | 2, RegExp>> }> = [
      // A subnet outside the network.
      { key: '10.6.1.0-24', value: value('192.168.77.50', 'aa:bb:cc:00:00:01'), logs: { 1: /refusing lease 10\.6\.1\.0\/24 .*outside the network 10\.5\.0\.0\/16/, 2: /refusing lease 10\.6\.1\.0\/24 / } },
      // The default route.
      { key: '0.0.0.0-0', value: value('192.168.77.51', 'aa:bb:cc:00:00:02'), logs: { 1: /refusing lease 0\.0\.0\.0\/0 .*outside the network/, 2: /refusing lease 0\.0\.0\.0\/0 / } },
      // A /23 over host 1's subnet: host 1's own (on host 1), another lease's (on host 2).
      {
        key: `${wide.ip.toString()}-23`,
        value: value('192.168.77.52', 'aa:bb:cc:00:00:03'),
        logs: { 1: re(`refusing lease ${wide.toString()} (public IP 192.168.77.52): its subnet ${wide.toString()} overlaps this host's subnet ${net1.toString()}`), 2: re(`refusing lease ${wide.toString()} (public IP 192.168.77.52): its subnet ${wide.toString()} overlaps `) },
      },
      // Host 1's public IP: refused by host 1 (host 2 takes it as a peer at that address).
      { key: '10.5.200.0-24', value: value(host1IP, 'aa:bb:cc:00:00:04'), logs: { 1: re(`refusing lease 10.5.200.0/24 (public IP ${host1IP}): its public IP ${host1IP} is this host's own`) } },
      // VTEP MACs that name no VTEP.
      { key: '10.5.201.0-24', value: value('192.168.77.54', '00:00:00:00:00:00'), logs: { 1: /skipping lease 10\.5\.201\.0\/24: VtepMAC 00:00:00:00:00:00 is all zeros/, 2: /skipping lease 10\.5\.201\.0\/24: .*all zeros/ } },
      { key: '10.5.202.0-24', value: value('192.168.77.55', 'ff:ff:ff:ff:ff:ff'), logs: { 1: /skipping lease 10\.5\.202\.0\/24: VtepMAC ff:ff:ff:ff:ff:ff is a broadcast address/ } },
      { key: '10.5.203.0-24', value: value('192.168.77.56', '01:00:5e:00:00:01'), logs: { 2: /skipping lease 10\.5\.203\.0\/24: VtepMAC 01:00:5e:00:00:01 is a multicast address/ } },
      // A second key for host 2's subnet ("-024"): would replace host 2's lease on host 1.
      { key: `${net2.ip.toString()}-0${net2.prefixLength}`, value: value('192.168.77.57', 'aa:bb:cc:00:00:07'), logs: {} },
    ];
    for (const h of hostile) await cluster.etcdctl(['put', `${SUBNETS_PREFIX}${h.key}`, h.value]);
    // A well-formed peer written last: once both kernels have it, every lease before it was handled.
    const marker = { subnet: '10.5.210.0/24', ip: '192.168.77.60', mac: 'aa:bb:cc:00:00:10' };
    await cluster.etcdctl(['put', `${SUBNETS_PREFIX}10.5.210.0-24`, value(marker.ip, marker.mac)]);

    const markerState = fakePeer(marker.subnet, marker.ip, marker.mac);
    // Host 2 takes 10.5.200.0/24 as a peer at host 1's address: that lease is not hostile to it.
    const at1 = fakePeer('10.5.200.0/24', host1IP, 'aa:bb:cc:00:00:04');
    const want1 = plus(expectedHostState(cluster, SPEC, 1, facts), markerState);
    const want2 = plus(expectedHostState(cluster, SPEC, 2, facts), markerState, at1);
    await waitForHostState(cluster, 1, SPEC, want1, 10_000);
    await waitForHostState(cluster, 2, SPEC, want2, 10_000);

    for (const h of hostile) {
      for (const [host, pattern] of Object.entries(h.logs) as [string, RegExp][]) {
        await agents[Number(host) - 1]!.waitForLog(pattern, { timeoutMs: 5000 });
      }
    }
    // Once per lease, not per resync or re-list.
    const log1 = await agents[0]!.readLog();
    assert.equal(countLines(log1, /refusing lease 10\.6\.1\.0\/24 /), 1, 'one warning for the lease outside the network');
    assert.match(log1, /^W\d{4} .*refusing lease 10\.6\.1\.0\/24 /m, 'logged at warning level');

    // The real peers still carry traffic: host 1 reaches host 2's VTEP address through the tunnel and back.
    for (const [from, to] of [[1, net2], [2, net1]] as const) {
      const res = await cluster.exec(from, ['ping', '-c', '2', '-i', '0.2', '-W', '2', to.ip.toString()]);
      assert.equal(res.exitCode, 0, `host ${from} pings ${to.ip.toString()} through flannel.1: ${res.stdout}${res.stderr}`);
    }

    // Both agents still run, and removing the hostile keys leaves the real state as it was.
    for (const a of agents) assert.equal(a.exitCode, undefined, `agent ${a.host} still runs`);
    for (const h of hostile) await cluster.etcdctl(['del', `${SUBNETS_PREFIX}${h.key}`]);
    await waitForHostState(cluster, 1, SPEC, want1, 5000);
    await waitForHostState(cluster, 2, SPEC, plus(expectedHostState(cluster, SPEC, 2, facts), markerState), 5000);
  });
});
