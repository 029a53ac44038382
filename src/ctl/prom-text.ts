/** A reader of the Prometheus text format, enough for flannelctl status (samples with labels). */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of the exposition; comments, blank and malformed lines skipped. */
export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1] ?? '', labels, value: v });
  }
  return out;
}

/** The samples named `name`. */
export function samples(all: readonly Sample[], name: string): Sample[] {
  return all.filter((s) => s.name === name);
}

/** The value of the first sample named `name`, or undefined. */
export function value(all: readonly Sample[], name: string): number | undefined {
  return all.find((s) => s.name === name)?.value;
}
