/**
 * udp-throughput: two hosts, a pod behind each, the udp backend (TUN flannel0 and the forwarding
 * thread of native/tun). iperf3 TCP host to host over the underlay and pod to pod through the
 * UDP tunnel, alternating, BENCH_IPERF_REPEATS times each, 1 and 2 streams: the ratio of the
 * medians and the pod-to-pod rate in Gbit/s. Go flannel's C proxy reached 0.63 Gbit/s (ratio 0.04)
 * on these machines. CPU-bound: both ends, both forwarders and the kernel share 2 cores.
 */
import type { Cluster } from '../../test/cluster/harness.js';
import { waitForPing } from '../../test/cluster/pod-traffic.js';
import { addPod } from '../../test/cluster/pods.js';
import { runIn } from '../../test/support/netns.js';
import type { Metric, Scenario, ScenarioContext } from '../scenario.js';
import { withCluster } from '../support/bench-cluster.js';
import { iperf3, type IperfEndpoint, type IperfFigures } from '../support/iperf.js';
import { round, summarize } from '../support/stats.js';

const SECONDS = 3;
const GO_FLANNEL_GBPS = 0.63;

function repeats(): number {
  const n = Number(process.env.BENCH_IPERF_REPEATS ?? 3);
  return Number.isInteger(n) && n >= 1 && n <= 50 ? n : 3;
}

const gbps = (bps: number) => round(bps / 1e9, 3);

async function measure(cluster: Cluster, ctx: ScenarioContext): Promise<Metric[]> {
  const { signal } = ctx;
  const agents = [1, 2].map((h) => cluster.startAgent(h));
  const envs = await Promise.all(agents.map((a) => a.waitForSubnetFile({ timeoutMs: 30_000, signal })));
  const pods = await Promise.all([1, 2].map((h) => addPod(cluster, h, `pod${h}`, envs[h - 1] ?? {})));
  const [p1, p2] = pods;
  if (!p1?.v4 || !p2?.v4) throw new Error('pods without IPv4 addresses');
  await waitForPing(p1, p2.v4.ip, 15_000);
  const host = (h: number): IperfEndpoint => ({ name: `host ${h}`, ip: cluster.hostAddress(h), exec: (argv, o) => runIn(cluster.hostNs(h), argv, { signal, ...o }) });
  const pod = (p: typeof p1): IperfEndpoint => ({ name: p.name, ip: p.v4?.ip ?? '', exec: (argv, o) => p.exec(argv, o) });
  const metrics: Metric[] = [];
  for (const streams of [1, 2]) {
    const underlay: IperfFigures[] = [];
    const overlay: IperfFigures[] = [];
    for (let r = 0; r < repeats(); r++) {
      underlay.push(await iperf3(host(1), host(2), SECONDS, signal, streams));
      overlay.push(await iperf3(pod(p1), pod(p2), SECONDS, signal, streams));
      ctx.progress(`${streams} stream(s), round ${r + 1}: host ${gbps(underlay[r]?.bitsPerSecond ?? 0)} Gbit/s, pod ${gbps(overlay[r]?.bitsPerSecond ?? 0)} Gbit/s`);
    }
    const u = summarize(underlay.map((x) => x.bitsPerSecond));
    const o = summarize(overlay.map((x) => x.bitsPerSecond));
    const each = (xs: IperfFigures[]) =>
      xs.map((x) => `${gbps(x.bitsPerSecond)} (retr ${x.retransmits}, cpu snd ${round(x.senderCpu, 0)}% rcv ${round(x.receiverCpu, 0)}%)`).join(', ');
    const label = `${streams} stream${streams > 1 ? 's' : ''}`;
    metrics.push(
      { metric: `${label}: pod/host throughput ratio (medians)`, value: round(o.p50 / u.p50, 3), unit: 'ratio', reference: 'Go flannel 0.04', note: `pod MTU ${p1.mtu}, underlay MTU 1500, iperf3 -P ${streams}` },
      {
        metric: `${label}: pod to pod through udp, median`,
        value: gbps(o.p50),
        unit: 'Gbit/s',
        reference: `Go flannel ${GO_FLANNEL_GBPS}; target ≥ ${round(2 * GO_FLANNEL_GBPS, 2)}`,
        note: `each: ${each(overlay)}`,
      },
      { metric: `${label}: host to host (underlay), median`, value: gbps(u.p50), unit: 'Gbit/s', note: `each: ${each(underlay)}` },
    );
  }
  return metrics;
}

export const udpThroughput: Scenario = {
  name: 'udp-throughput',
  description: `udp (TUN + native forwarder): iperf3 -t ${SECONDS} pod to pod vs host to host (${repeats()}x each, alternating, 1 and 2 streams): ratio and Gbit/s`,
  timeoutMs: 120_000 + repeats() * 4 * (SECONDS + 5) * 1000,
  needsRoot: true,
  run: (ctx) => withCluster({ hosts: 2, config: { Network: '10.244.0.0/16', Backend: { Type: 'udp' } }, signal: ctx.signal }, (cluster) => measure(cluster, ctx)),
};
