/**
 * doctor's two outputs: a table for people (each finding on one line, then for problems the why
 * and the fix indented under it, then a summary line) and JSON for scripts.
 */
import { renderJSON, renderTable } from '../output.js';
import { exitCodeOf, type Finding, type Severity } from './finding.js';

const LABEL: Record<Severity, string> = { ok: 'ok', warning: 'WARN', error: 'FAIL' };

export function summaryOf(findings: readonly Finding[]): { errors: number; warnings: number; ok: number } {
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  return { errors: count('error'), warnings: count('warning'), ok: count('ok') };
}

export function renderDoctorTable(findings: readonly Finding[]): string {
  const rows: string[][] = [];
  for (const f of findings) {
    rows.push([LABEL[f.severity], f.check, f.what]);
    if (f.why !== undefined) rows.push(['', '', `  why: ${f.why}`]);
    if (f.fix !== undefined) rows.push(['', '', `  fix: ${f.fix}`]);
  }
  const s = summaryOf(findings);
  const verdict = s.errors > 0 ? `${s.errors} problem(s) found` : 'healthy';
  return `${renderTable(['RESULT', 'CHECK', 'FINDING'], rows)}\n${verdict}: ${s.errors} failed, ${s.warnings} warnings, ${s.ok} ok\n`;
}

export function renderDoctorJSON(findings: readonly Finding[]): string {
  return renderJSON({ healthy: exitCodeOf(findings) === 0, summary: summaryOf(findings), findings });
}
