/**
 * Traffic between test pods: single pings retried (bounded) while routes converge, every pod to
 * every other, an iperf3 transfer, and a steady ping stream whose losses are counted.
 */
import assert from 'node:assert/strict';
import { poll } from '../support/poll.js';
import type { Family } from './kernel-state.js';
import type { Pod } from './pods.js';

export function podIp(pod: Pod, family: Family): string {
  const a = family === 4 ? pod.v4 : pod.v6;
  if (!a) throw new Error(`pod ${pod.name} has no IPv${family} address`);
  return a.ip;
}

/** One `ping -c1 -W1` from a pod; true when the reply came. */
export async function pingOnce(from: Pod, to: string): Promise<boolean> {
  const res = await from.exec(['ping', '-n', '-c1', '-W1', to], { allowFailure: true, timeoutMs: 5000 });
  return res.exitCode === 0;
}

/** Pings `to` from `from` until a reply comes (bounded: `timeoutMs`). */
export async function waitForPing(from: Pod, to: string, timeoutMs = 8000): Promise<void> {
  await poll(() => pingOnce(from, to), { what: `ping ${from.name} -> ${to}`, timeoutMs, intervalMs: 100 });
}

/** Every pod pings every other pod, in every family, concurrently (each pair retried while routes converge). */
export async function pingAll(pods: readonly Pod[], fams: readonly Family[], timeoutMs = 8000): Promise<void> {
  const work: Promise<void>[] = [];
  for (const a of pods) for (const b of pods) for (const f of fams) if (a !== b) work.push(waitForPing(a, podIp(b, f), timeoutMs));
  const failed = (await Promise.allSettled(work)).filter((r) => r.status === 'rejected');
  if (failed.length > 0) throw new AggregateError(failed.map((r) => r.reason as unknown), `${failed.length} of ${work.length} pod pairs unreachable`);
}

export interface IperfResult {
  readonly bitsPerSecond: number;
  readonly bytes: number;
}

/**
 * An iperf3 TCP transfer of `seconds` from `client` to `server`: `iperf3 -s -1` in the server pod
 * (one test, then it exits; run as our child, not daemonised, so it cannot outlive the test),
 * `iperf3 -c -t N -J` in the client pod.
 */
export async function iperf(client: Pod, server: Pod, family: Family, seconds = 2): Promise<IperfResult> {
  const port = '5201';
  const srv = server.exec(['iperf3', '-s', '-1', '-p', port], { timeoutMs: (seconds + 15) * 1000 });
  srv.catch(() => {});
  await poll(
    async () => {
      const { stdout } = await server.exec(['ss', '-Hltn', `sport = :${port}`]);
      return stdout.trim() !== '';
    },
    { what: `iperf3 server in ${server.name} to listen`, timeoutMs: 5000, intervalMs: 50 },
  );
  const ip = podIp(server, family);
  const fam = family === 6 ? ['-6'] : ['-4'];
  const res = await client.exec(['iperf3', ...fam, '-c', ip, '-p', port, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 10) * 1000 });
  await srv;
  const report = JSON.parse(res.stdout) as { end?: { sum_received?: { bits_per_second?: number; bytes?: number } }; error?: string };
  assert.equal(report.error, undefined, `iperf3 ${client.name} -> ${server.name}: ${report.error}`);
  return { bitsPerSecond: report.end?.sum_received?.bits_per_second ?? 0, bytes: report.end?.sum_received?.bytes ?? 0 };
}

export interface PingStream {
  /** Resolves when ping ends: packets sent and received. */
  readonly done: Promise<{ sent: number; received: number; output: string }>;
}

/** `ping -c count -i interval` from a pod, running in the background. */
export function startPingStream(from: Pod, to: string, count: number, intervalS: number): PingStream {
  const argv = ['ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '1', to];
  const done = from.exec(argv, { allowFailure: true, timeoutMs: Math.ceil(count * intervalS * 1000) + 10_000 }).then((res) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(res.stdout);
    if (!m) throw new Error(`ping ${from.name} -> ${to}: no summary in output:\n${res.stdout}${res.stderr}`);
    return { sent: Number(m[1]), received: Number(m[2]), output: res.stdout };
  });
  return { done };
}
