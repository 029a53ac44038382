/**
 * Where one plugin run's time went, for the log line of ADD and DEL and for the benchmark:
 * Node's own start-up (process start to bootstrap complete), the delegates' runs, and the rest,
 * which is flannel's own work (module loading, files, JSON). Times are milliseconds since the
 * process started (performance.timeOrigin).
 */
export interface RunTiming {
  readonly totalMs: number;
  readonly nodeStartMs: number;
  readonly delegateMs: number;
  readonly flannelMs: number;
}

export function runTiming(delegateMs: number): RunTiming {
  const totalMs = performance.now();
  const nodeStartMs = performance.nodeTiming.bootstrapComplete;
  return { totalMs, nodeStartMs, delegateMs, flannelMs: Math.max(0, totalMs - nodeStartMs - delegateMs) };
}

export function formatTiming(t: RunTiming, delegate: string): string {
  const f = (ms: number) => ms.toFixed(1);
  return `${f(t.totalMs)} ms since process start: node start-up ${f(t.nodeStartMs)}, flannel ${f(t.flannelMs)}, delegate ${delegate} ${f(t.delegateMs)}`;
}
