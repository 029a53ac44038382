/**
 * kube-rss: flanneld in Kubernetes mode (-kube-subnet-mgr) against the stand-in API server
 * (test/fakes/kube-api-server, in this process, on 127.0.0.1) over HTTPS with a bearer token,
 * as a DaemonSet pod talks to its API server (a throwaway CA made with openssl; the agent gets
 * a kubeconfig with certificate-authority and token), with nodes shaped like a kubelet's
 * (~6.5 KB of JSON each). Two runs:
 * - 100 nodes: the agent's VmRSS after 5 s idle (all 99 peers known);
 * - 5,000 nodes: its peak (VmHWM) through the one big list, and its VmRSS settled 5 s later.
 *
 * The agent runs in the root network namespace, touching nothing: the alloc backend (no
 * kernel layer), -ip-masq=false and -iptables-forward-rules=false (no rules), -iface=127.0.0.1,
 * a private -subnet-file in a temp dir, no health port; the only writes it makes besides its
 * subnet file are its node's annotations and NetworkUnavailable condition, on the stand-in.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeKubeApiServer } from '../../test/fakes/kube-api-server/kube-api-server.js';
import { realisticNode } from '../../test/fakes/kube-api-server/realistic-node.js';
import { ManagedProcess } from '../../test/support/managed-process.js';
import { makeTestPki } from '../../test/support/test-pki.js';
import { poll } from '../../test/support/poll.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { agentCommand } from '../support/agent-command.js';
import { REMOTE_LEASES, WROTE_SUBNET_FILE, findLine, parseLog } from '../support/agent-log.js';
import { readCpuTimes, readMemoryStatus, type CpuTimes, type MemoryStatus } from '../support/proc-status.js';
import { kibToMiB, msToS } from '../support/stats.js';

const SETTLE_MS = 5000;
const TOKEN = 'bench-token';
const PREFIX = 'flannel.alpha.coreos.com';

export const kubeRss: Scenario = {
  name: 'kube-rss',
  description: `kube mode (alloc) on the stand-in API server: RSS idle with 100 nodes, peak and settled with 5,000`,
  timeoutMs: 180_000,
  needsRoot: false,
  run: async (ctx) => {
    const idle = await runAgent(ctx, 100);
    const big = await runAgent(ctx, 5000);
    return [
      { metric: '100 nodes: VmRSS after 5 s idle', value: kibToMiB(idle.settled.vmRssKiB), unit: 'MiB', reference: 'target <= 60 MiB', note: `VmHWM ${kibToMiB(idle.settled.vmHwmKiB)} MiB; subnet.env after ${msToS(idle.readyMs)} s` },
      { metric: '5,000 nodes: peak RSS (VmHWM)', value: kibToMiB(big.settled.vmHwmKiB), unit: 'MiB', reference: 'target <= 100 MiB; Go flannel 74 MB', note: `NodeList body ${(big.listBytes / 2 ** 20).toFixed(1)} MiB; all peers after ${msToS(big.allPeersMs)} s` },
      { metric: '5,000 nodes: agent CPU until all peers', value: Math.round(big.cpu.userMs + big.cpu.systemMs), unit: 'ms', note: `user ${big.cpu.userMs} ms, system ${big.cpu.systemMs} ms (Node start-up included)` },
      { metric: `5,000 nodes: VmRSS ${SETTLE_MS / 1000} s after all peers`, value: kibToMiB(big.settled.vmRssKiB), unit: 'MiB', reference: 'Go flannel 74 MB at 5,000, 43 MB at 1,000', note: `at all peers: ${kibToMiB(big.atPeers.vmRssKiB)} MiB` },
      ...(await bareNode(ctx)),
    ];
  },
};

interface AgentRun {
  readonly readyMs: number;
  readonly allPeersMs: number;
  readonly listBytes: number;
  readonly atPeers: MemoryStatus;
  readonly settled: MemoryStatus;
  /** The agent's CPU time from spawn until it knew every peer. */
  readonly cpu: CpuTimes;
}

/** `nodes` nodes (node-0 is the agent's, the others flannel peers), one agent; its memory figures. */
async function runAgent(ctx: ScenarioContext, nodes: number): Promise<AgentRun> {
  const { signal } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'bench-kube-rss-'));
  let server: FakeKubeApiServer | undefined;
  let agent: ManagedProcess | undefined;
  try {
    const pki = await makeTestPki(dir);
    server = new FakeKubeApiServer({
      tokens: { [TOKEN]: 'system:serviceaccount:kube-flannel:flannel' },
      tls: { cert: await readFile(pki.serverCertFile, 'utf8'), key: await readFile(pki.serverKeyFile, 'utf8') },
    });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    for (let i = 0; i < nodes; i++) {
      const podCIDR = `10.${(i >> 8) & 255}.${i & 255}.0/24`;
      const internalIP = `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      const annotations: Record<string, string> =
        i === 0
          ? {}
          : {
              [`${PREFIX}/backend-data`]: 'null',
              [`${PREFIX}/backend-type`]: 'alloc',
              [`${PREFIX}/kube-subnet-manager`]: 'true',
              [`${PREFIX}/public-ip`]: internalIP,
            };
      server.store.create(realisticNode(i, { name: `node-${i}`, podCIDR, internalIP, annotations }));
    }
    const listBytes = JSON.stringify(server.store.list()).length;
    await writeFile(join(dir, 'net-conf.json'), JSON.stringify({ Network: '10.0.0.0/8', Backend: { Type: 'alloc' } }));
    await writeFile(
      join(dir, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'bench', cluster: { server: url, 'certificate-authority': pki.caFile } }],
        users: [{ name: 'flannel', user: { token: TOKEN } }],
        contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'flannel' } }],
        'current-context': 'bench',
      }),
    );
    ctx.progress(`${nodes} nodes on ${url} (NodeList ${(listBytes / 2 ** 20).toFixed(1)} MiB); starting the agent`);
    const logFile = join(dir, 'flanneld.log');
    const started = Date.now();
    agent = new ManagedProcess({
      argv: [
        ...agentCommand(1),
        '-kube-subnet-mgr',
        `-kubeconfig-file=${join(dir, 'kubeconfig')}`,
        `-net-config-path=${join(dir, 'net-conf.json')}`,
        `-subnet-file=${join(dir, 'subnet.env')}`,
        '-iface=127.0.0.1',
        '-ip-masq=false',
        '-iptables-forward-rules=false',
      ],
      logFile,
      env: { NODE_NAME: 'node-0' },
    });
    const a = agent;
    const lines = await poll(
      async () => {
        if (!a.running) throw new Error(`the agent exited with ${a.exit?.code}: ${(await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-5).join('\n')}`);
        const l = parseLog(await readFile(logFile, 'utf8'));
        return l.some((x) => Number(REMOTE_LEASES.exec(x.message)?.[1] ?? 0) >= nodes - 1) ? l : undefined;
      },
      { what: `the agent to know all ${nodes - 1} peers`, timeoutMs: 60_000, intervalMs: 20, signal },
    );
    const wrote = findLine(lines, WROTE_SUBNET_FILE);
    const peers = lines.find((x) => Number(REMOTE_LEASES.exec(x.message)?.[1] ?? 0) >= nodes - 1);
    const atPeers = await readMemoryStatus(a.pid);
    const cpu = await readCpuTimes(a.pid);
    ctx.progress(`all peers known; settling ${SETTLE_MS / 1000} s`);
    await delay(SETTLE_MS, undefined, { signal });
    const settled = await readMemoryStatus(a.pid);
    if (!atPeers || !settled || !cpu || !a.running) throw new Error(`the agent (pid ${a.pid}) is gone after settling`);
    const code = (await a.stop('SIGTERM', 5000)).code;
    if (code !== 0) throw new Error(`the agent exited with ${code} on SIGTERM`);
    return {
      readyMs: (wrote?.time ?? NaN) - started,
      allPeersMs: (peers?.time ?? NaN) - started,
      listBytes,
      atPeers,
      settled,
      cpu,
    };
  } finally {
    if (agent?.running) await agent.kill().catch(() => {});
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bare Node process of the same binary, for the floor. */
async function bareNode(ctx: ScenarioContext): Promise<Metric[]> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(()=>{},1e4)'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    await delay(2000, undefined, { signal: ctx.signal });
    const m = child.pid === undefined ? undefined : await readMemoryStatus(child.pid);
    if (!m) throw new Error('bare node exited early');
    return [{ metric: 'bare node VmRSS', value: kibToMiB(m.vmRssKiB), unit: 'MiB', note: `node ${process.version}` }];
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}
