/**
 * Where one plugin run's time went, for the log line of ADD and DEL and for the benchmark:
 * start-up (process start until the plugin's main began: Node's own start-up and loading the
 * plugin's code), the delegates' runs, and the rest, which is flannel's own work (modules loaded
 * on demand, files, JSON). Times are milliseconds since the process started, read from
 * process.uptime(): `performance` would load node:perf_hooks (~1.5 ms of a run that is mostly
 * start-up) for the same clock.
 */
export interface RunTiming {
  readonly totalMs: number;
  readonly nodeStartMs: number;
  readonly delegateMs: number;
  readonly flannelMs: number;
}

/** Milliseconds since the process started (monotonic). */
export function sinceStartMs(): number {
  return process.uptime() * 1000;
}

/** The timing of a run whose main began at `startedMs` and whose delegate took `delegateMs`. */
export function runTiming(delegateMs: number, startedMs: number): RunTiming {
  const totalMs = sinceStartMs();
  return { totalMs, nodeStartMs: startedMs, delegateMs, flannelMs: Math.max(0, totalMs - startedMs - delegateMs) };
}

export function formatTiming(t: RunTiming, delegate: string): string {
  const f = (ms: number) => ms.toFixed(1);
  return `${f(t.totalMs)} ms since process start: node start-up ${f(t.nodeStartMs)}, flannel ${f(t.flannelMs)}, delegate ${delegate} ${f(t.delegateMs)}`;
}
