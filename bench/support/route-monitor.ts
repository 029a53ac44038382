/**
 * `ip -ts -o monitor route` in a namespace, started before a change so that every route event
 * carries the kernel-side moment `ip` read it (µs wall clock), not the moment we polled. The
 * monitor is known to listen once a marker address on lo (whose local route it must report)
 * shows up in its output.
 */
import { spawn } from 'node:child_process';
import { run } from '../../test/support/command.js';
import { HarnessError } from '../../test/support/errors.js';
import { poll } from '../../test/support/poll.js';

export interface RouteEvent {
  /** Wall clock (ms since the epoch, µs precision) from ip's `[YYYY-MM-DDTHH:MM:SS.uuuuuu]` stamp (local time). */
  readonly time: number;
  readonly deleted: boolean;
  /** The route's destination as printed, e.g. `10.244.5.0/24`. */
  readonly dst: string;
  readonly line: string;
}

const LINE = /^\[(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})\] (Deleted )?(\S+)/;
const MARKER = '127.0.0.78';

export function parseRouteEvent(line: string): RouteEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, us] = m.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
  const time = new Date(y, mo - 1, d, h, mi, s).getTime() + us / 1000;
  return { time, deleted: m[8] !== undefined, dst: m[9] ?? '', line };
}

export class RouteMonitor {
  readonly ns: string;
  readonly #events: RouteEvent[] = [];
  readonly #exited: Promise<void>;
  readonly #child;
  #partial = '';

  private constructor(ns: string) {
    this.ns = ns;
    this.#child = spawn('ip', ['-n', ns, '-ts', '-o', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout.setEncoding('utf8').on('data', (d: string) => this.#push(d));
    this.#child.stderr.resume();
    // A crashed bench must not leave the monitor holding the namespace.
    const killAtExit = () => this.#child.kill('SIGKILL');
    process.once('exit', killAtExit);
    this.#exited = new Promise((resolve) =>
      this.#child.once('close', () => {
        process.off('exit', killAtExit);
        resolve();
      }),
    );
  }

  /** Starts the monitor in `ns` and waits (bounded) until it listens. */
  static async start(ns: string, signal: AbortSignal): Promise<RouteMonitor> {
    const m = new RouteMonitor(ns);
    try {
      await poll(
        async () => {
          await run(['ip', '-n', ns, 'addr', 'add', `${MARKER}/32`, 'dev', 'lo'], { allowFailure: true, signal });
          await run(['ip', '-n', ns, 'addr', 'del', `${MARKER}/32`, 'dev', 'lo'], { allowFailure: true, signal });
          return m.#events.some((e) => e.dst === MARKER || e.line.includes(` ${MARKER} `));
        },
        { what: `ip monitor in ${ns} to listen`, timeoutMs: 5000, intervalMs: 50, signal },
      );
    } catch (err) {
      await m.stop();
      throw err;
    }
    return m;
  }

  #push(d: string): void {
    const text = this.#partial + d;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const l of lines) {
      const e = parseRouteEvent(l);
      if (e) this.#events.push(e);
    }
  }

  /** The first event since index `from` that matches. */
  find(pred: (e: RouteEvent) => boolean, from = 0): RouteEvent | undefined {
    for (let i = from; i < this.#events.length; i++) {
      const e = this.#events[i];
      if (e && pred(e)) return e;
    }
    return undefined;
  }

  /** Number of events so far (a cursor for find()). */
  get length(): number {
    return this.#events.length;
  }

  /** Waits (bounded) for a matching event since `from`. */
  async waitFor(pred: (e: RouteEvent) => boolean, opts: { from: number; timeoutMs: number; what: string; signal: AbortSignal }): Promise<RouteEvent> {
    if (this.#child.exitCode !== null) throw new HarnessError(`ip monitor in ${this.ns} exited with ${this.#child.exitCode}`);
    return poll(() => this.find(pred, opts.from), { what: opts.what, timeoutMs: opts.timeoutMs, intervalMs: 2, signal: opts.signal });
  }

  async stop(): Promise<void> {
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await this.#exited;
    clearTimeout(t);
  }
}
