/**
 * The soak's command line: `-minutes N` (also `--minutes`, `-minutes=N`) or env SOAK_MINUTES;
 * default 30. Bad input is a UsageError naming the flag and value.
 */
import { UsageError } from '../../src/errors.js';

export const DEFAULT_MINUTES = 30;
const MAX_MINUTES = 240;

export interface SoakOptions {
  readonly minutes: number;
}

function parseMinutes(source: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 1 || n > MAX_MINUTES) {
    throw new UsageError('minutes', `${source}=${JSON.stringify(text)}: want a number of minutes in [1, ${MAX_MINUTES}]`);
  }
  return n;
}

export function parseSoakOptions(argv: readonly string[], env: NodeJS.ProcessEnv): SoakOptions {
  let minutes = env.SOAK_MINUTES !== undefined ? parseMinutes('SOAK_MINUTES', env.SOAK_MINUTES) : DEFAULT_MINUTES;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const m = /^--?minutes(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(a, `unknown argument ${JSON.stringify(a)}: usage: npm run soak -- [-minutes N]`);
    const value = m[1] ?? argv[++i];
    if (value === undefined) throw new UsageError('minutes', '-minutes: missing value');
    minutes = parseMinutes('-minutes', value);
  }
  return { minutes };
}
