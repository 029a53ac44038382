/** flannelctl's two output forms: an aligned text table for people, JSON for scripts. */

/** Columns padded to their widest cell, separated by two spaces; no trailing blanks. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** Pretty JSON, two-space indented, with a final newline. */
export function renderJSON(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** "1h2m3s"-style text for a number of seconds (whole seconds; "0s" for zero). */
export function formatSeconds(total: number): string {
  let s = Math.max(0, Math.floor(total));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = '';
  if (d > 0) out += `${d}d`;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (s > 0 || out === '') out += `${s}s`;
  return out;
}
