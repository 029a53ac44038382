/**
 * One agent started against many remote leases already in etcd, timed from spawn until its
 * kernel holds every peer's entries (counted from outside by dumps, and as the agent logs it).
 */
import type { Agent, Cluster } from '../../test/cluster/harness.js';
import { agentCommand } from './agent-command.js';
import { poll } from '../../test/support/poll.js';
import { RECONCILED, REMOTE_LEASES, STARTING, WROTE_SUBNET_FILE, findLine, matchLines, parseLog, type LogLine } from './agent-log.js';
import { nowMs } from './clock.js';
import { waitForEntries, type EntriesReached, type EntryKind } from './kernel-count.js';
import type { PeerBackend } from './peer-leases.js';
import { CpuSampler } from './cpu-sampler.js';
import { findNodePid, type CpuTimes } from './proc-status.js';

export const VXLAN_DEVICE = 'flannel.1';

/** The device a backend programs on host `host`, and the kinds in the order to poll them (last programmed first). */
export function peerDevice(cluster: Cluster, host: number, backend: PeerBackend): { dev: string; kinds: EntryKind[] } {
  return backend === 'vxlan' ? { dev: VXLAN_DEVICE, kinds: ['routes', 'neighbors', 'fdb'] } : { dev: cluster.hostIface(host), kinds: ['routes'] };
}

export interface ProgrammedStart {
  readonly agent: Agent;
  readonly nodePid: number;
  /** Wall clock just before spawn (ms, sub-ms precision). */
  readonly spawnWall: number;
  readonly kernel: EntriesReached;
  /** The agent's first log line, `wrote subnet.env`, and the reconcile that programmed the peers. */
  readonly starting: LogLine | undefined;
  readonly wroteSubnetFile: LogLine | undefined;
  /** `leases: N added, ... N remote leases now`: the lease snapshot reached the backend. */
  readonly leasesKnown: LogLine | undefined;
  readonly reconciled: { readonly line: LogLine; readonly peers: number; readonly changes: number; readonly ms: number };
  /** CPU the agent spent during that reconcile (samples every 10 ms bracketing it; undefined if none bracket it). */
  readonly reconcileCpu: (CpuTimes & { readonly windowMs: number }) | undefined;
}

export interface StartProgrammedOptions {
  readonly backend: PeerBackend;
  readonly peers: number;
  readonly args?: readonly string[];
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Starts host `host`'s agent (-v=1 plus `args`) and waits until all `peers` are in its kernel. */
export async function startProgrammed(cluster: Cluster, host: number, o: StartProgrammedOptions): Promise<ProgrammedStart> {
  const { dev, kinds } = peerDevice(cluster, host, o.backend);
  const spawnWall = nowMs();
  const agent = cluster.startAgent(host, { args: ['-v=1', ...(o.args ?? [])], command: agentCommand(host) });
  // `ip netns exec` and `env -S` exec in place: the spawned pid becomes the node process.
  const sampler = new CpuSampler(agent.pid);
  let kernel: EntriesReached;
  try {
    kernel = await waitForEntries({
      ns: cluster.hostNs(host),
      dev,
      kinds,
      target: o.peers,
      t0: spawnWall,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      failIf: () => (agent.running ? undefined : `the agent exited with code ${agent.exitCode}`),
    });
  } catch (err) {
    sampler.stop();
    const tail = (await agent.readLog()).trimEnd().split('\n').slice(-10).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}; agent log:\n${tail}`, { cause: err });
  }
  const nodePid = await poll(() => findNodePid(agent.pid), { what: `the node process of host ${host}'s agent`, timeoutMs: 5000, intervalMs: 20, signal: o.signal });
  // The agent logs right after its last netlink ack; give the line a moment to reach the file.
  const found = await poll(
    async () => {
      const lines = parseLog(await agent.readLog());
      const r = matchLines(lines, RECONCILED).find((x) => x.m[2] === 'initial lease snapshot' && Number(x.m[1]) >= o.peers);
      return r ? { lines, r } : undefined;
    },
    { what: `host ${host}'s agent to log its initial reconcile of ${o.peers} peers`, timeoutMs: 10_000, intervalMs: 20, signal: o.signal },
  );
  sampler.stop();
  const { lines, r } = found;
  const end = r.line.time;
  // klog stamps are whole ms: widen the window by 1 ms on each side.
  const cpu = sampler.between(end - Number(r.m[4]) - 1, end + 1);
  return {
    agent,
    nodePid,
    spawnWall,
    kernel,
    starting: findLine(lines, STARTING),
    wroteSubnetFile: findLine(lines, WROTE_SUBNET_FILE),
    leasesKnown: matchLines(lines, REMOTE_LEASES).find((x) => Number(x.m[1]) >= o.peers)?.line,
    reconciled: { line: r.line, peers: Number(r.m[1]), changes: Number(r.m[3]), ms: Number(r.m[4]) },
    reconcileCpu: cpu && { userMs: cpu.userMs, systemMs: cpu.systemMs, windowMs: cpu.toAt - cpu.fromAt },
  };
}
