/**
 * What a benchmark scenario is: a named, bounded measurement that returns figures. Scenarios
 * never pass or fail on time; they fail only when they could not measure (an agent crashed,
 * a wait ran past its bound).
 */

/** One measured figure. */
export interface Metric {
  /** What was measured, e.g. 'time to subnet.env (p50)'. */
  readonly metric: string;
  readonly value: number;
  /** 's', 'ms', 'MiB', 'requests', ... */
  readonly unit: string;
  /** The comparison figure, e.g. 'Go flannel 0.12 s'. */
  readonly reference?: string;
  /** How it was measured, or a caveat. */
  readonly note?: string;
}

export interface ScenarioContext {
  /** Aborted at the scenario's time bound or on Ctrl-C. */
  readonly signal: AbortSignal;
  /** Progress output (stderr), so the table on stdout stays clean. */
  progress(msg: string): void;
}

export interface Scenario {
  /** The name given on the command line, e.g. 'startup-3'. */
  readonly name: string;
  readonly description: string;
  /** Upper bound on the whole scenario, set-up and teardown included. */
  readonly timeoutMs: number;
  /** Needs root (network namespaces). */
  readonly needsRoot: boolean;
  run(ctx: ScenarioContext): Promise<Metric[]>;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly description: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly metrics: readonly Metric[];
  /** Set when the scenario could not measure. */
  readonly error?: string;
  readonly skipped?: string;
}
