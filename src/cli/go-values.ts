/**
 * Go's text syntax for flag values, so that flanneld command lines written for Go flannel mean
 * the same thing here: booleans as strconv.ParseBool, integers as strconv.ParseInt(s, 0, 64),
 * durations as time.ParseDuration, and time.Duration's String() for usage defaults.
 *
 * Every parser throws GoSyntaxError whose `reason` is the text Go's flag package prints after
 * the value: "parse error" or "value out of range".
 */
export type GoSyntaxReason = 'parse error' | 'value out of range';

export class GoSyntaxError extends Error {
  readonly reason: GoSyntaxReason;
  constructor(reason: GoSyntaxReason) {
    super(reason);
    this.name = 'GoSyntaxError';
    this.reason = reason;
  }
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False. */
export function parseGoBool(text: string): boolean {
  if (TRUE_WORDS.has(text)) return true;
  if (FALSE_WORDS.has(text)) return false;
  throw new GoSyntaxError('parse error');
}

// Base-0 integer forms; "_" may only sit between digits (or right after a base prefix).
const INT_FORMS: ReadonlyArray<{ re: RegExp; radix: string }> = [
  { re: /^0[xX](_?[0-9a-fA-F])+$/, radix: '0x' },
  { re: /^0[bB](_?[01])+$/, radix: '0b' },
  { re: /^0[oO](_?[0-7])+$/, radix: '0o' },
  { re: /^0(_?[0-7])+$/, radix: '0o' },
  { re: /^(0|[1-9](_?[0-9])*)$/, radix: '' },
];

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * strconv.ParseInt(text, 0, 64): optional sign, then decimal, 0x hex, 0b binary, 0o or leading-0
 * octal, with Go's underscore rules. Results beyond Number.MAX_SAFE_INTEGER are reported as out
 * of range (no flanneld flag needs them).
 */
export function parseGoInt(text: string): number {
  let body = text;
  let negative = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  const form = INT_FORMS.find((f) => f.re.test(body));
  if (form === undefined) throw new GoSyntaxError('parse error');
  const digits = body.replace(/_/g, '');
  const magnitude = form.radix === '' ? BigInt(digits) : BigInt(form.radix + stripPrefix(digits));
  const value = negative ? -magnitude : magnitude;
  if (value < INT64_MIN || value > INT64_MAX) throw new GoSyntaxError('value out of range');
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GoSyntaxError('value out of range');
  }
  return Number(value);
}

function stripPrefix(digits: string): string {
  // "0x1f" -> "1f"; a bare leading-zero octal "017" -> "17".
  return /^0[xXbBoO]/.test(digits) ? digits.slice(2) : digits.slice(1);
}

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // MICRO SIGN
  ['\u03bcs', 1_000n], // GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

// One "<number><unit>" term: digits, optional fraction, then a unit (anything up to the next digit or dot).
const TERM = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;

/**
 * time.ParseDuration, in nanoseconds: a signed sequence of decimal numbers, each with an optional
 * fraction and a unit (ns, us, µs, ms, s, m, h), e.g. "300ms", "-1.5h", "2h45m". "0" needs no unit.
 */
export function parseGoDurationNs(text: string): bigint {
  let rest = text;
  let negative = false;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw new GoSyntaxError('parse error');
  let total = 0n;
  for (let guard = 0; rest !== ''; guard++) {
    // Each pass consumes at least one character or throws, so `guard` only documents the bound.
    if (guard > text.length) throw new GoSyntaxError('parse error');
    const m = TERM.exec(rest);
    if (m === null) throw new GoSyntaxError('parse error');
    const [whole, intPart = '', fracPart, unitText = ''] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw new GoSyntaxError('parse error');
    const unit = NS_PER_UNIT.get(unitText);
    if (unit === undefined) throw new GoSyntaxError('parse error');
    total += BigInt(intPart === '' ? '0' : intPart) * unit;
    if (fracPart !== undefined && fracPart !== '') {
      total += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length);
    }
    if (total > INT64_MAX + (negative ? 1n : 0n)) throw new GoSyntaxError('parse error');
    rest = rest.slice(whole.length);
  }
  return negative ? -total : total;
}

/** time.ParseDuration in milliseconds (fractional below 1 ms). */
export function parseGoDuration(text: string): number {
  // Whole milliseconds and the rest apart: Number(ns) alone rounds beyond 2^53 ns (104 days).
  const ns = parseGoDurationNs(text);
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/** time.Duration.String(): "24h0m0s", "1m30s", "1.5s", "500ms", "2µs", "0s". Input in ms. */
export function formatGoDuration(ms: number): string {
  // Whole milliseconds and the rest apart: ms * 1e6 alone rounds beyond 2^53 ns (104 days).
  const whole = Math.trunc(ms);
  const ns = BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  if (abs < 1_000_000_000n) {
    if (abs < 1_000n) return `${sign}${abs}ns`;
    if (abs < 1_000_000n) return `${sign}${fixed(abs, 1_000n)}µs`;
    return `${sign}${fixed(abs, 1_000_000n)}ms`;
  }
  const hours = abs / 3_600_000_000_000n;
  const minutes = (abs / 60_000_000_000n) % 60n;
  const seconds = fixed(abs % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** value / unit as a decimal without trailing zeros. */
function fixed(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const frac = value % unit;
  if (frac === 0n) return String(whole);
  const width = String(unit).length - 1;
  return `${whole}.${String(frac).padStart(width, '0').replace(/0+$/, '')}`;
}
