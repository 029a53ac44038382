/**
 * A pod-to-pod ping run in the background across a change (a takeover, a rollback), with the
 * longest gap between replies read from ping's own timestamps, and the filter that keeps the
 * data path's lines of an `ip monitor` taken meanwhile.
 */
import type { Pod } from './pods.js';

export interface TimedPing {
  readonly sent: number;
  readonly received: number;
  /** The longest time between two replies in a row (or from the first packet), ms. */
  readonly maxGapMs: number;
  /** Replies after that longest gap: > 0 means the path recovered. */
  readonly repliesAfterGap: number;
  readonly output: string;
}

/** `ping -D -c count -i interval` from a pod, in the background; every reply's timestamp read. */
export function startTimedPing(from: Pod, to: string, count: number, intervalS = 0.02): Promise<TimedPing> {
  const argv = ['ping', '-n', '-D', '-c', String(count), '-i', String(intervalS), '-W', '1', to];
  const started = Date.now() / 1000;
  return from.exec(argv, { allowFailure: true, timeoutMs: Math.ceil(count * intervalS * 1000) + 15_000 }).then((res) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(res.stdout);
    if (!m) throw new Error(`ping ${from.name} -> ${to}: no summary in output:\n${res.stdout}${res.stderr}`);
    const times = [...res.stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((x) => Number(x[1]));
    let prev = started;
    let maxGapMs = 0;
    let gapEnd = 0;
    for (const [i, t] of times.entries()) {
      if ((t - prev) * 1000 > maxGapMs) [maxGapMs, gapEnd] = [(t - prev) * 1000, i];
      prev = t;
    }
    return { sent: Number(m[1]), received: Number(m[2]), maxGapMs: Math.round(maxGapMs), repliesAfterGap: times.length - gapEnd, output: res.stdout };
  });
}

/** Whether `p` is still running (a promise settles no sooner than the next turn). */
export async function stillRunning(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  return !settled;
}

export function lossLine(p: TimedPing): string {
  return `${p.sent} sent, ${p.sent - p.received} lost, longest gap ${p.maxGapMs} ms`;
}

/**
 * `ip monitor` lines naming a device in `devs` or an address or prefix in `nets` (followed by
 * a space or a slash, so a pod's address in the same subnet does not count), less the kernel's
 * IPv6 link-local and multicast bookkeeping.
 */
export function dataPathEvents(events: readonly string[], devs: readonly string[], nets: readonly string[]): string[] {
  const hit = (l: string) => devs.some((d) => l.includes(d)) || nets.some((n) => l.includes(`${n} `) || l.includes(`${n}/`));
  return events.filter((l) => !l.includes('fe80:') && !l.includes('ff02:') && hit(l));
}
