/**
 * wireguard-throughput: two hosts, a pod behind each, the wireguard backend (wireguard-go: this
 * kernel has none). iperf3 TCP pod to pod through the flannel-ts-managed tunnel, and through a
 * second WireGuard tunnel between the same host namespaces made by hand with `wireguard-go` and
 * `wg` (port 51900, the same MTU), alternating: a more specific route per pod subnet switches the
 * pods' traffic to the hand-made tunnel and back. The ratio of the medians: what flannel-ts costs
 * the data path (it should cost nothing: it only configures the same implementation).
 */
import type { Cluster } from '../../test/cluster/harness.js';
import { waitForPing } from '../../test/cluster/pod-traffic.js';
import { addPod, type Pod } from '../../test/cluster/pods.js';
import { createCluster } from '../../test/cluster/harness.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { iperf3, type IperfEndpoint, type IperfFigures } from '../support/iperf.js';
import { round, summarize } from '../support/stats.js';

const SECONDS = 3;
const HAND_DEV = 'wgh';
const HAND_PORT = 51900;

function repeats(): number {
  const n = Number(process.env.BENCH_IPERF_REPEATS ?? 3);
  return Number.isInteger(n) && n >= 1 && n <= 50 ? n : 3;
}

const gbps = (bps: number) => round(bps / 1e9, 3);

/** The hand-made tunnel: wireguard-go wgh on both hosts, each the other's peer for its pod subnet. */
async function handTunnel(cluster: Cluster, subnets: readonly string[], mtu: number): Promise<{ on(): Promise<void>; off(): Promise<void> }> {
  const keys: { priv: string; pub: string }[] = [];
  for (const h of [1, 2]) {
    const priv = (await cluster.exec(h, ['wg', 'genkey'])).stdout.trim();
    const pub = (await cluster.exec(h, ['wg', 'pubkey'], { input: `${priv}\n` })).stdout.trim();
    keys.push({ priv, pub });
  }
  for (const h of [1, 2]) {
    const peer = 3 - h;
    const keyFile = `${cluster.hostDir(h)}/hand.key`;
    await cluster.exec(h, ['sh', '-c', `umask 077; printf '%s\\n' "$1" > "$2"`, 'sh', keys[h - 1]?.priv ?? '', keyFile]);
    // Without -f wireguard-go detaches once its UAPI socket is up; its output must not hold our pipes.
    await cluster.exec(h, ['sh', '-c', `wireguard-go ${HAND_DEV} >/dev/null 2>&1 </dev/null`], { env: { LOG_LEVEL: 'error' } });
    await cluster.exec(h, [
      'wg', 'set', HAND_DEV, 'private-key', keyFile, 'listen-port', String(HAND_PORT),
      'peer', keys[peer - 1]?.pub ?? '', 'endpoint', `${cluster.hostAddress(peer)}:${HAND_PORT}`, 'allowed-ips', subnets[peer - 1] ?? '',
    ]);
    await cluster.exec(h, ['ip', 'link', 'set', HAND_DEV, 'mtu', String(mtu), 'up']);
  }
  const route = (verb: 'replace' | 'del') => Promise.all([1, 2].map((h) => cluster.exec(h, ['ip', 'route', verb, subnets[2 - h] ?? '', 'dev', HAND_DEV])));
  return {
    on: async () => {
      await route('replace');
    },
    off: async () => {
      await route('del');
    },
  };
}

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const agents = [1, 2].map((h) => cluster.startAgent(h));
  const envs = await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 30_000, signal })));
  const pods: Pod[] = await Promise.all([1, 2].map((h) => addPod(cluster, h, `pod${h}`, envs[h - 1] ?? {})));
  const [p1, p2] = pods;
  if (!p1?.v4 || !p2?.v4) throw new Error('pods without IPv4 addresses');
  await waitForPing(p1, p2.v4.ip, 15_000);
  const hand = await handTunnel(cluster, pods.map((p) => p.v4?.subnet ?? ''), p1.mtu);
  const pod = (p: Pod): IperfEndpoint => ({ name: p.name, ip: p.v4?.ip ?? '', exec: (argv, o) => p.exec(argv, o) });
  const metrics: Metric[] = [];
  for (const streams of [1, 2]) {
    const flannel: IperfFigures[] = [];
    const byHand: IperfFigures[] = [];
    for (let r = 0; r < repeats(); r++) {
      await hand.on();
      await waitForPing(p1, p2.v4.ip, 10_000);
      byHand.push(await iperf3(pod(p1), pod(p2), SECONDS, signal, streams));
      await hand.off();
      await waitForPing(p1, p2.v4.ip, 10_000);
      flannel.push(await iperf3(pod(p1), pod(p2), SECONDS, signal, streams));
      ctx.progress(`${streams} stream(s), round ${r + 1}: by hand ${gbps(byHand[r]?.bitsPerSecond ?? 0)} Gbit/s, flannel-ts ${gbps(flannel[r]?.bitsPerSecond ?? 0)} Gbit/s`);
    }
    const f = summarize(flannel.map((x) => x.bitsPerSecond));
    const h = summarize(byHand.map((x) => x.bitsPerSecond));
    const each = (xs: IperfFigures[]) => xs.map((x) => `${gbps(x.bitsPerSecond)} (retr ${x.retransmits})`).join(', ');
    const label = `${streams} stream${streams > 1 ? 's' : ''}`;
    metrics.push(
      { metric: `${label}: flannel-ts tunnel / hand-made tunnel (medians)`, value: round(f.p50 / h.p50, 3), unit: 'ratio', reference: 'target ≥ 0.95', note: `pod to pod, MTU ${p1.mtu}, wireguard-go on both; iperf3 -P ${streams}` },
      { metric: `${label}: through flannel-ts's tunnel, median`, value: gbps(f.p50), unit: 'Gbit/s', note: `each: ${each(flannel)}` },
      { metric: `${label}: through the hand-made tunnel, median`, value: gbps(h.p50), unit: 'Gbit/s', note: `each: ${each(byHand)}` },
    );
  }
  return metrics;
}

export const wireguardThroughput: Scenario = {
  name: 'wireguard-throughput',
  description: `wireguard (wireguard-go): iperf3 -t ${SECONDS} pod to pod through flannel-ts's tunnel vs a hand-made wg tunnel (${repeats()}x each, alternating, 1 and 2 streams): ratio`,
  timeoutMs: 120_000 + repeats() * 4 * (SECONDS + 8) * 1000,
  needsRoot: true,
  run: async (ctx) => {
    const cluster = await createCluster({ hosts: 2, signal: ctx.signal, privateDirs: ['/run/wireguard', '/run/flannel'] });
    try {
      await cluster.putConfig({ Network: '10.244.0.0/16', Backend: { Type: 'wireguard' } });
      return await measure(cluster, ctx);
    } finally {
      await cluster.destroy();
    }
  },
};
