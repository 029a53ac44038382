/**
 * One iperf3 TCP transfer between two endpoints of the cluster (a host namespace or a pod):
 * `iperf3 -s -1` on the server (one test, then it exits; our child, so it cannot outlive the
 * run), `iperf3 -c <ip> -t N -J` on the client.
 */
import type { RunOptions, RunResult } from '../../test/support/command.js';
import { HarnessError } from '../../test/support/errors.js';
import { poll } from '../../test/support/poll.js';

export interface IperfEndpoint {
  readonly name: string;
  /** The address the server listens on, as the client reaches it. */
  readonly ip: string;
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

export interface IperfFigures {
  readonly bitsPerSecond: number;
  readonly retransmits: number;
  /** iperf3's own CPU use figures, % of one CPU (sender's host total, receiver's). */
  readonly senderCpu: number;
  readonly receiverCpu: number;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second?: number };
    sum_sent?: { retransmits?: number };
    cpu_utilization_percent?: { host_total?: number; remote_total?: number };
  };
}

const PORT = '5201';

/** One transfer; `streams` > 1 runs that many parallel TCP streams (`-P`), figures are their sums. */
export async function iperf3(client: IperfEndpoint, server: IperfEndpoint, seconds: number, signal: AbortSignal, streams = 1): Promise<IperfFigures> {
  const srv = server.exec(['iperf3', '-s', '-1', '-p', PORT], { timeoutMs: (seconds + 20) * 1000, signal });
  srv.catch(() => {});
  await poll(
    async () => (await server.exec(['ss', '-Hltn', `sport = :${PORT}`], { signal })).stdout.trim() !== '',
    { what: `iperf3 server in ${server.name} to listen`, timeoutMs: 5000, intervalMs: 20, signal },
  );
  const res = await client.exec(['iperf3', '-4', '-c', server.ip, '-p', PORT, '-t', String(seconds), '-P', String(streams), '-J'], { timeoutMs: (seconds + 15) * 1000, signal, allowFailure: true });
  await srv.catch(() => undefined);
  let report: IperfJson;
  try {
    report = JSON.parse(res.stdout) as IperfJson;
  } catch {
    throw new HarnessError(`iperf3 ${client.name} -> ${server.name}: no JSON report (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 300)}`);
  }
  if (report.error !== undefined) throw new HarnessError(`iperf3 ${client.name} -> ${server.name}: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second ?? 0;
  if (!(bps > 0)) throw new HarnessError(`iperf3 ${client.name} -> ${server.name}: no bits per second in the report`);
  return {
    bitsPerSecond: bps,
    retransmits: report.end?.sum_sent?.retransmits ?? 0,
    senderCpu: report.end?.cpu_utilization_percent?.host_total ?? NaN,
    receiverCpu: report.end?.cpu_utilization_percent?.remote_total ?? NaN,
  };
}
