/**
 * startTogether(): starts agents so that they reach etcd at the same instant. Spawning node
 * processes back to back leaves them tens of milliseconds apart, longer than an etcd
 * list-then-create takes, so a race between them would never happen. Instead etcd is frozen
 * (SIGSTOP), the agents are started, and etcd is thawed (SIGCONT) once every agent's first
 * request waits unread in etcd's socket buffers: all of them then proceed in lockstep.
 */
import { runIn } from '../support/netns.js';
import { poll } from '../support/poll.js';
import type { Agent, Cluster } from './harness.js';

/** Peer addresses of etcd client connections holding unread bytes (`ss` in the etcd namespace). */
async function pendingPeers(cluster: Cluster): Promise<Set<string>> {
  const { stdout } = await runIn(cluster.etcdNs, ['ss', '-Htn', 'state', 'established', 'sport = :2379'], { signal: cluster.signal });
  const peers = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [recvQ, , , peer] = line.trim().split(/\s+/);
    if (peer !== undefined && Number(recvQ) > 0) peers.add(peer.slice(0, peer.lastIndexOf(':')));
  }
  return peers;
}

export async function startTogether(cluster: Cluster, hosts: readonly number[], args: string[] = []): Promise<Agent[]> {
  const pid = cluster.etcd.pid;
  if (pid === undefined) throw new Error('startTogether: etcd is not running');
  process.kill(pid, 'SIGSTOP');
  try {
    const agents = hosts.map((i) => cluster.startAgent(i, { args }));
    const want = hosts.map((i) => cluster.hostAddress(i));
    await poll(
      async () => {
        const dead = agents.find((a) => !a.running);
        if (dead) throw new Error(`agent on host ${dead.host} exited (code ${dead.exitCode}) before reaching etcd`);
        const peers = await pendingPeers(cluster);
        return want.every((ip) => peers.has(ip));
      },
      { what: `hosts ${hosts.join(',')} to have a request waiting at the frozen etcd`, timeoutMs: 8000, intervalMs: 20, signal: cluster.signal },
    );
    return agents;
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
