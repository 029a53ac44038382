/** The benchmark's output: a plain-text table for people and a JSON file for tools. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './scenario.js';

export interface BenchReport {
  readonly startedAt: string;
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpuModel: string; readonly memoryMiB: number; readonly loadAvg: readonly number[] };
  readonly results: readonly ScenarioResult[];
}

export function machineInfo(): BenchReport['machine'] {
  const c = cpus();
  return { node: process.version, cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / 2 ** 20), loadAvg: loadavg().map((l) => Math.round(l * 100) / 100) };
}

/** Columns: scenario, metric, value, unit, reference; notes follow the table. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows: string[][] = [['scenario', 'metric', 'value', 'unit', 'reference']];
  const notes: string[] = [];
  for (const r of results) {
    if (r.skipped !== undefined) rows.push([r.scenario, `skipped: ${r.skipped}`, '', '', '']);
    if (r.error !== undefined) rows.push([r.scenario, `FAILED: ${firstLine(r.error)}`, '', '', '']);
    for (const m of r.metrics) {
      rows.push([r.scenario, m.metric, String(m.value), m.unit, m.reference ?? '']);
      if (m.note !== undefined) notes.push(`${r.scenario} / ${m.metric}: ${m.note}`);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (notes.length > 0) out.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  return out.join('\n') + '\n';
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}

/** Writes the report to <dir>/<timestamp>.json; returns the path. */
export async function writeReport(dir: string, report: BenchReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
