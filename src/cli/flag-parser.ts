/**
 * A small command-line parser with the semantics of Go's `flag` package, which flanneld uses:
 * `-flag` and `--flag` alike, `-flag=value`, `-flag value` (not for booleans), `--` ends the
 * flags, so does the first argument that is not a flag, `-h`/`-help` ask for usage. Values use
 * Go's syntax (src/cli/go-values.ts). Plus coreos/pkg flagutil.SetFlagsFromEnv: every flag not
 * given on the command line may come from PREFIX_<NAME>.
 */
import { UsageError } from '../errors.js';
import { GoSyntaxError, formatGoDuration, parseGoBool, parseGoDuration, parseGoInt } from './go-values.js';

interface FlagSpecBase {
  /** Without dashes, e.g. "healthz-port". */
  readonly name: string;
  readonly help: string;
}

export type FlagSpec =
  | (FlagSpecBase & { readonly kind: 'bool'; readonly default: boolean })
  | (FlagSpecBase & { readonly kind: 'string'; readonly default: string })
  | (FlagSpecBase & { readonly kind: 'int'; readonly default: number })
  /** Go duration syntax; the value is in milliseconds. */
  | (FlagSpecBase & { readonly kind: 'duration'; readonly default: number })
  /** Repeatable: each occurrence appends one element (no comma splitting), like a Go flag.Value slice. */
  | (FlagSpecBase & { readonly kind: 'string-list'; readonly default: readonly string[] });

export type FlagKind = FlagSpec['kind'];
export type FlagValue = boolean | string | number | readonly string[];

/** Where a flag's value came from; `name` is how to quote it in messages: "-v" or "FLANNELD_V". */
export interface FlagOrigin {
  readonly source: 'default' | 'argv' | 'env';
  readonly name: string;
  /** The text as given (the last one for a list flag); undefined for defaults. */
  readonly raw?: string;
}

export interface ParsedFlags {
  /** -h, -help or --help was met; parsing stopped there (as Go's flag.ErrHelp). */
  readonly help: boolean;
  /** Arguments after the flags (after `--` or the first non-flag argument). */
  readonly args: readonly string[];
  readonly values: ReadonlyMap<string, FlagValue>;
  readonly origins: ReadonlyMap<string, FlagOrigin>;
}

/** Parse argv (without the program name) against specs. Throws UsageError on the first bad argument. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const byName = indexSpecs(specs);
  const values = new Map<string, FlagValue>(
    specs.map((s) => [s.name, s.kind === 'string-list' ? Object.freeze([...s.default]) : s.default]),
  );
  const origins = new Map<string, FlagOrigin>(specs.map((s) => [s.name, { source: 'default', name: `-${s.name}` }]));
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (arg.length < 2 || !arg.startsWith('-')) break; // "-" and non-flags end the flags
    i++;
    let body = arg.slice(1);
    if (body.startsWith('-')) {
      body = body.slice(1);
      if (body === '') break; // "--"
    }
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      throw new UsageError(arg, `bad flag syntax: ${arg}`);
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = byName.get(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return freeze(true, argv.slice(i), values, origins);
      throw new UsageError(name, `flag provided but not defined: -${name}`);
    }
    if (spec.kind === 'bool') {
      value ??= 'true';
    } else if (value === undefined) {
      if (i >= argv.length) throw new UsageError(name, `flag needs an argument: -${name}`);
      value = argv[i] ?? '';
      i++;
    }
    const origin: FlagOrigin = { source: 'argv', name: `-${name}`, raw: value };
    values.set(name, convert(spec, value, values.get(name), origin));
    origins.set(name, origin);
  }
  return freeze(false, argv.slice(i), values, origins);
}

/** The variable that feeds a flag: PREFIX_ + name upper-cased, "-" and "." turned into "_". */
export function envVarName(prefix: string, flagName: string): string {
  return `${prefix}_${flagName.replace(/[-.]/g, '_').toUpperCase()}`;
}

/**
 * flagutil.SetFlagsFromEnv: each flag not given on the command line takes PREFIX_<NAME> when that
 * variable is set and non-empty. One variable is one value: a list flag gets a single element,
 * commas included, as in Go. `skip` names flags that never come from the environment.
 */
export function applyEnvironment(
  specs: readonly FlagSpec[],
  parsed: ParsedFlags,
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
  skip: readonly string[] = [],
): ParsedFlags {
  const values = new Map(parsed.values);
  const origins = new Map(parsed.origins);
  for (const spec of specs) {
    if (skip.includes(spec.name) || origins.get(spec.name)?.source === 'argv') continue;
    const variable = envVarName(prefix, spec.name);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const origin: FlagOrigin = { source: 'env', name: variable, raw: text };
    values.set(spec.name, convert(spec, text, values.get(spec.name), origin));
    origins.set(spec.name, origin);
  }
  return freeze(parsed.help, parsed.args, values, origins);
}

/**
 * The UsageError for a value that does not fit, in Go's words:
 * `invalid value "abc" for flag -healthz-port: parse error`, or for a variable
 * `invalid value "abc" for FLANNELD_HEALTHZ_PORT: parse error`.
 */
export function invalidValueError(flag: string, origin: FlagOrigin | undefined, value: string, reason: string): UsageError {
  const where = origin?.source === 'env' ? origin.name : `flag -${flag}`;
  return new UsageError(flag, `invalid value ${JSON.stringify(value)} for ${where}: ${reason}`);
}

function convert(spec: FlagSpec, text: string, current: FlagValue | undefined, origin: FlagOrigin): FlagValue {
  try {
    switch (spec.kind) {
      case 'bool':
        return parseGoBool(text);
      case 'string':
        return text;
      case 'int':
        return parseGoInt(text);
      case 'duration':
        return parseGoDuration(text);
      case 'string-list': {
        // Like a Go flag.Value slice: every Set appends to what is there (the default at first).
        const base = Array.isArray(current) ? (current as readonly string[]) : spec.default;
        return Object.freeze([...base, text]);
      }
    }
  } catch (err) {
    if (!(err instanceof GoSyntaxError)) throw err;
    if (spec.kind === 'bool' && origin.source === 'argv') {
      throw new UsageError(spec.name, `invalid boolean value ${JSON.stringify(text)} for -${spec.name}: ${err.reason}`, { cause: err });
    }
    const e = invalidValueError(spec.name, origin, text, err.reason);
    throw new UsageError(e.flag, e.message, { cause: err });
  }
}

function indexSpecs(specs: readonly FlagSpec[]): Map<string, FlagSpec> {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new TypeError(`flag redefined: ${spec.name}`);
    byName.set(spec.name, spec);
  }
  return byName;
}

function freeze(
  help: boolean,
  args: readonly string[],
  values: Map<string, FlagValue>,
  origins: Map<string, FlagOrigin>,
): ParsedFlags {
  return Object.freeze({ help, args: Object.freeze([...args]), values, origins });
}

function lookup(parsed: ParsedFlags, name: string, kind: string): FlagValue {
  const v = parsed.values.get(name);
  if (v === undefined) throw new TypeError(`no such flag: ${name}`);
  const actual = Array.isArray(v) ? 'string-list' : typeof v;
  if (actual !== kind) throw new TypeError(`flag ${name} holds a ${actual}, not a ${kind}`);
  return v;
}

export const flagBool = (p: ParsedFlags, name: string): boolean => lookup(p, name, 'boolean') as boolean;
export const flagString = (p: ParsedFlags, name: string): string => lookup(p, name, 'string') as string;
/** int and duration (milliseconds) flags. */
export const flagNumber = (p: ParsedFlags, name: string): number => lookup(p, name, 'number') as number;
export const flagList = (p: ParsedFlags, name: string): readonly string[] => lookup(p, name, 'string-list') as readonly string[];

/**
 * Usage text in the layout of Go's FlagSet.PrintDefaults, flags sorted by name:
 *   Usage of flanneld:
 *     -healthz-port int
 *       	the port for healthz server to listen (0 to disable)
 * A word in `backquotes` in the help text names the value instead of its type.
 */
export function formatUsage(program: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage of ${program}:`];
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const spec of sorted) {
    const { valueName, help } = unquoteUsage(spec);
    let line = `  -${spec.name}`;
    if (valueName !== '') line += ` ${valueName}`;
    line += line.length <= 4 ? '\t' : '\n    \t';
    line += help.replace(/\n/g, '\n    \t');
    const shown = defaultText(spec);
    if (shown !== undefined) line += ` (default ${shown})`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function unquoteUsage(spec: FlagSpec): { valueName: string; help: string } {
  const m = /`([^`]*)`/.exec(spec.help);
  if (m !== null && m[1] !== undefined) return { valueName: m[1], help: spec.help.replace(/`/, '').replace(/`/, '') };
  const names: Record<FlagKind, string> = { bool: '', string: 'string', int: 'int', duration: 'duration', 'string-list': 'value' };
  return { valueName: names[spec.kind], help: spec.help };
}

/** The default as Go shows it, or undefined for a zero value (which Go leaves out). */
function defaultText(spec: FlagSpec): string | undefined {
  switch (spec.kind) {
    case 'bool':
      return spec.default ? 'true' : undefined;
    case 'string':
      return spec.default === '' ? undefined : JSON.stringify(spec.default);
    case 'int':
      return spec.default === 0 ? undefined : String(spec.default);
    case 'duration':
      return spec.default === 0 ? undefined : formatGoDuration(spec.default);
    case 'string-list':
      return spec.default.length === 0 ? undefined : `[${spec.default.join(' ')}]`;
  }
}
