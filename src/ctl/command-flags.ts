/**
 * A subcommand's own flags, in Go's flag syntax (src/cli/flag-parser.ts), with flags allowed
 * after positional arguments too (`reserve add 10.5.3.0/24 -public-ip 10.0.0.7`), and its
 * usage text (synopsis, then the flags as Go's PrintDefaults shows them).
 */
import { formatUsage, parseFlags, type FlagSpec, type ParsedFlags } from '../cli/flag-parser.js';

/** Flags and positional arguments of a subcommand; `help` when -h/-help was given. */
export function parseCommandArgs(specs: readonly FlagSpec[], args: readonly string[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    flags.push(arg);
    const body = arg.replace(/^--?/, '');
    const spec = byName.get(body);
    // "-name value" for a non-boolean flag: the value goes with it.
    if (spec !== undefined && spec.kind !== 'bool' && i + 1 < args.length) flags.push(args[++i] ?? '');
  }
  const parsed = parseFlags(specs, flags);
  return Object.freeze({ ...parsed, args: Object.freeze(parsed.help ? [] : positional) });
}

/** "Usage: flannelctl <synopsis>" then the flags, if any. */
export function commandUsage(name: string, synopsis: readonly string[], specs: readonly FlagSpec[]): string {
  const head = synopsis.map((s, i) => `${i === 0 ? 'Usage:' : '      '} flannelctl ${s}`).join('\n');
  if (specs.length === 0) return `${head}\n`;
  return `${head}\n${formatUsage(`flannelctl ${name}`, specs).replace(/^Usage of [^\n]*\n/, 'Flags:\n')}`;
}
