/**
 * The benchmark's use of the netns test harness: a cluster that is always destroyed, and an
 * agent start timed from just before spawn until its subnet.env is written.
 */
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseSubnetEnv } from '../../test/cluster/agent.js';
import { createCluster, type Agent, type Cluster } from '../../test/cluster/harness.js';
import { HarnessError } from '../../test/support/errors.js';
import { poll } from '../../test/support/poll.js';
import { agentCommand } from './agent-command.js';
import { STARTING, WROTE_SUBNET_FILE, findLine, parseLog, type LogLine } from './agent-log.js';
import { findNodePid } from './proc-status.js';
import { watchForFile } from './wait-file.js';

/** Creates a cluster with `hosts` hosts and the network config, runs fn, always destroys it. */
export async function withCluster<T>(
  opts: { hosts: number; config: unknown; signal: AbortSignal; underlayPrefixLength?: number },
  fn: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const cluster = await createCluster({ hosts: opts.hosts, signal: opts.signal, underlayPrefixLength: opts.underlayPrefixLength });
  try {
    await cluster.putConfig(opts.config);
    return await fn(cluster);
  } finally {
    await cluster.destroy();
  }
}

export interface TimedStart {
  readonly agent: Agent;
  /** The node process (not a wrapper). */
  readonly nodePid: number;
  /** Spawn until subnet.env was seen complete, ms. */
  readonly toSubnetFileMs: number;
  /** Spawn until the agent's first log line (Node start-up and module loading), ms; NaN if unknown. */
  readonly nodeStartupMs: number;
  /** First log line until the agent logged `wrote <subnet file>`, ms; NaN if unknown. */
  readonly agentWorkMs: number;
  /** Wall clock (ms since the epoch) just before spawn, for comparing with log times. */
  readonly spawnWall: number;
  readonly via: 'watch' | 'poll';
  readonly subnetEnv: Record<string, string>;
}

/**
 * Removes host i's subnet.env, starts its agent, and times it. "Process start" is taken just
 * before spawn; "written" is when subnet.env (with FLANNEL_SUBNET) is first seen.
 */
export async function startTimed(cluster: Cluster, host: number, opts: { signal: AbortSignal; timeoutMs: number; args?: string[] }): Promise<TimedStart> {
  const subnetFile = `${cluster.hostDir(host)}/subnet.env`;
  await rm(subnetFile, { force: true });
  let agent: Agent | undefined;
  const waiter = watchForFile(subnetFile, {
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    accept: (t) => parseSubnetEnv(t).FLANNEL_SUBNET !== undefined,
    failIf: () => (agent !== undefined && !agent.running ? `the agent on host ${host} exited with code ${agent.exitCode}` : undefined),
  });
  const spawnWall = Date.now();
  const spawnPerf = performance.now();
  try {
    agent = cluster.startAgent(host, { args: opts.args ?? [], command: agentCommand(host) });
  } catch (err) {
    waiter.close();
    throw err;
  }
  let seen;
  try {
    seen = await waiter.written;
  } catch (err) {
    const tail = (await agent.readLog()).trimEnd().split('\n').slice(-10).join('\n');
    throw new HarnessError(`host ${host}: ${err instanceof Error ? err.message : String(err)}; log:\n${tail}`, { cause: err });
  }
  const toSubnetFileMs = seen.at - spawnPerf;
  // The agent logs `wrote` right after the rename we saw; give it a moment to reach the file.
  const lines = await poll(
    async () => {
      const l = parseLog(await agent.readLog());
      return findLine(l, WROTE_SUBNET_FILE) ? l : undefined;
    },
    { what: `host ${host} to log writing its subnet file`, timeoutMs: 5000, intervalMs: 10, signal: opts.signal },
  );
  const starting = findLine(lines, STARTING);
  const wrote = findLine(lines, WROTE_SUBNET_FILE);
  const nodePid = await resolveNodePid(agent, starting);
  return {
    agent,
    nodePid,
    toSubnetFileMs,
    nodeStartupMs: starting ? starting.time - spawnWall : NaN,
    agentWorkMs: starting && wrote ? wrote.time - starting.time : NaN,
    spawnWall,
    via: seen.via,
    subnetEnv: parseSubnetEnv(seen.text),
  };
}

/** The agent's node pid: the one it logs, checked against the process tree under the spawned pid. */
async function resolveNodePid(agent: Agent, starting: LogLine | undefined): Promise<number> {
  const found = await findNodePid(agent.pid);
  const logged = starting?.pid;
  const pid = found ?? logged;
  if (pid === undefined) throw new HarnessError(`no node process found for the agent spawned as pid ${agent.pid}`);
  if (logged !== undefined && found !== undefined && logged !== found) {
    throw new HarnessError(`agent pid mismatch: log says ${logged}, process tree says ${found} (spawned pid ${agent.pid})`);
  }
  return pid;
}
