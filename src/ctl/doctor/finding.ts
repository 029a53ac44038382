/**
 * What `flannelctl doctor` reports: one finding per thing it looked at. `ok` findings say what
 * was checked and found right (so a clean run shows its coverage); `warning` is something that
 * may be intended but often is not; `error` is a fault that breaks or will break pod traffic.
 */
export type Severity = 'ok' | 'warning' | 'error';

export interface Finding {
  /** The check that made it: store, lease, subnet-env, device, peers, rules, pod-mtu, port, leases. */
  readonly check: string;
  readonly severity: Severity;
  /** What was found, naming the object: "flannel.1 MTU 1400, FLANNEL_MTU 1450". */
  readonly what: string;
  /** Why it matters (absent for ok findings). */
  readonly why?: string;
  /** How to fix it: a command or a setting (absent for ok findings). */
  readonly fix?: string;
}

export function ok(check: string, what: string): Finding {
  return { check, severity: 'ok', what };
}

export function problem(check: string, what: string, why: string, fix: string): Finding {
  return { check, severity: 'error', what, why, fix };
}

export function warning(check: string, what: string, why: string, fix: string): Finding {
  return { check, severity: 'warning', what, why, fix };
}

/** doctor's exit code: 1 when any finding is an error, else 0 (warnings alone do not fail). */
export function exitCodeOf(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}
