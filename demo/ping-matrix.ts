/**
 * The demo's cross-host ping matrix: every pod pings every other pod (IPv4), first until a reply
 * comes (bounded, while routes converge), then three pings whose average round trip is shown.
 */
import { waitForPing } from '../test/cluster/pod-traffic.js';
import type { Pod } from '../test/cluster/pods.js';

export interface PingCell {
  readonly ok: boolean;
  /** Average round trip of the measured pings, when they were answered. */
  readonly avgMs?: number;
}

const MEASURED = 3;
const CONVERGE_MS = 8000;

/** One ping series from `from` to `to`: 3 pings 0.2 s apart, average RTT from ping's summary. */
async function measure(from: Pod, to: string): Promise<PingCell> {
  const res = await from.exec(['ping', '-n', '-q', '-c', String(MEASURED), '-i', '0.2', '-W', '1', to], { allowFailure: true, timeoutMs: 10_000 });
  const m = /= [\d.]+\/([\d.]+)\//.exec(res.stdout);
  return res.exitCode === 0 && m ? { ok: true, avgMs: Number(m[1]) } : { ok: false };
}

/** Waits (bounded) for a first reply; true when it came. */
async function converged(from: Pod, to: string): Promise<boolean> {
  try {
    await waitForPing(from, to, CONVERGE_MS);
    return true;
  } catch {
    return false;
  }
}

/**
 * cells[i][j]: pod i pinging pod j (undefined on the diagonal). Every pair first waits for a
 * reply at the same time (so unreachable pairs cost one bound, not one each), then the
 * reachable pairs are measured row by row.
 */
export async function pingMatrix(pods: readonly Pod[], signal: AbortSignal): Promise<(PingCell | undefined)[][]> {
  const target = (p: Pod) => p.v4?.ip;
  const reached = await Promise.all(pods.map((from) => Promise.all(pods.map((to) => (to === from || !target(to) ? false : converged(from, target(to) ?? ''))))));
  const rows: (PingCell | undefined)[][] = [];
  for (const [i, from] of pods.entries()) {
    signal.throwIfAborted();
    rows.push(
      await Promise.all(
        pods.map((to, j) => {
          if (to === from) return undefined;
          const ip = target(to);
          return ip && reached[i]?.[j] ? measure(from, ip) : { ok: false };
        }),
      ),
    );
  }
  return rows;
}

/** A text table; `numeric` right-aligns every column but the first. */
function table(rows: readonly (readonly string[])[], numeric: boolean): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const pad = (text: string, c: number) => (numeric && c > 0 ? text.padStart(widths[c] ?? 0) : text.padEnd(widths[c] ?? 0));
  const line = (r: readonly string[]) => r.map(pad).join('  ').trimEnd();
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n') + '\n';
}

/** The matrix as a table: a row per pinging pod, a column per pinged pod, average RTT or "lost". */
export function formatPingMatrix(pods: readonly Pod[], cells: readonly (readonly (PingCell | undefined)[])[]): string {
  const label = (p: Pod) => `${p.name} (h${p.host})`;
  const header = ['from \\ to', ...pods.map(label)];
  const body = pods.map((p, i) => [
    label(p),
    ...pods.map((_, j) => {
      const c = cells[i]?.[j];
      if (!c) return '-';
      return c.ok ? (c.avgMs !== undefined ? `${c.avgMs.toFixed(3)} ms` : 'ok') : 'lost';
    }),
  ]);
  return table([header, ...body], true);
}

/** The pods: name, host, address, gateway, MTU. */
export function formatPodTable(pods: readonly Pod[]): string {
  return table([['pod', 'host', 'namespace', 'address', 'gateway', 'MTU'], ...pods.map((p) => [p.name, String(p.host), p.ns, p.v4 ? `${p.v4.ip}/${p.v4.prefixLength}` : '-', p.v4?.gateway ?? '-', String(p.mtu)])], false);
}
