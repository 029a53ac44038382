/**
 * Reads timings out of an agent's log, whose lines carry klog timestamps with millisecond
 * precision in local time: `I1126 13:39:04.123000  4242 flanneld] message`.
 */

export interface LogLine {
  /** Wall-clock time of the line (ms since the epoch). */
  readonly time: number;
  readonly pid: number;
  readonly component: string;
  readonly message: string;
}

const LINE = /^[IWE](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6})\s+(\d+) ([^\]]+)\] (.*)$/;

/** Parses one klog line; the year is the one that puts the line nearest to `now`. */
export function parseLogLine(line: string, now = Date.now()): LogLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [month, day, h, min, s, us] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const year = new Date(now).getFullYear();
  let best = NaN;
  for (const y of [year - 1, year, year + 1]) {
    const t = new Date(y, month - 1, day, h, min, s, Math.floor(us / 1000)).getTime();
    if (Number.isNaN(best) || Math.abs(t - now) < Math.abs(best - now)) best = t;
  }
  return { time: best, pid: Number(m[7]), component: m[8] ?? '', message: m[9] ?? '' };
}

export function parseLog(text: string): LogLine[] {
  const now = Date.now();
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    const p = parseLogLine(l, now);
    if (p) out.push(p);
  }
  return out;
}

/** The first line whose message matches `re`. */
export function findLine(lines: readonly LogLine[], re: RegExp): LogLine | undefined {
  return lines.find((l) => re.test(l.message));
}

/** The agent's first line: flanneld logs it as soon as main() runs, after Node and the modules loaded. */
export const STARTING = /^flannel-ts .* starting \(pid \d+\)/;
/** Logged right after subnet.env was renamed into place. */
export const WROTE_SUBNET_FILE = /^wrote \S+/;
/** `leases: 5000 added, 0 removed, 5000 remote leases now` */
export const REMOTE_LEASES = /^leases: \d+ added, \d+ removed, (\d+) remote leases now$/;
/** `reconciled 5000 peers (initial lease snapshot): 15000 kernel changes in 123.4 ms` (info when changes > 0, else -v=2). */
export const RECONCILED = /^reconciled (\d+) peers \(([^)]*)\): (\d+) kernel changes in ([\d.]+) ms$/;
/** `applied 5000 lease events as 15000 kernel changes in 80.1 ms` (-v=1). */
export const APPLIED = /^applied (\d+) lease events as (\d+) kernel changes in ([\d.]+) ms$/;
/** `acquired lease 10.244.5.0/24 ... (backend vxlan)`, after the backend registered its network. */
export const ACQUIRED = /^acquired lease (\S+)/;

/** Every line whose message matches `re`, with the match. */
export function matchLines(lines: readonly LogLine[], re: RegExp): Array<{ line: LogLine; m: RegExpExecArray }> {
  const out: Array<{ line: LogLine; m: RegExpExecArray }> = [];
  for (const line of lines) {
    const m = re.exec(line.message);
    if (m) out.push({ line, m });
  }
  return out;
}
