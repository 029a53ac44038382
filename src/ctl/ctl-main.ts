/**
 * flannelctl: parse the common options, pick the subcommand from the table, run it with a
 * context, close the store. Returns the exit code: 0 ok, 1 failure, 2 bad usage (as flanneld).
 */
import { formatUsage } from '../cli/flag-parser.js';
import { ConfigError, FlannelError, StoreError, UsageError, errorMessage } from '../errors.js';
import { versionLine } from '../build-info.js';
import { COMMANDS } from './commands.js';
import { createCtlContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlIO, type StoreOpener } from './ctl-context.js';
import { COMMON_FLAGS, parseCtlOptions, splitArgv } from './ctl-options.js';

/** The global usage: synopsis, subcommands, common flags. */
export function flannelctlUsage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  const cmds = names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary ?? ''}`).join('\n');
  return (
    'Usage: flannelctl [flags] <command> [command flags] [args]\n\n' +
    `Commands:\n${cmds}\n\n` +
    '"flannelctl <command> -h" shows a command\'s own flags. The flags below may also follow the command.\n' +
    'Each may come from FLANNELD_<NAME> as for flanneld (the command line wins).\n\n' +
    formatUsage('flannelctl', COMMON_FLAGS).replace(/^Usage of [^\n]*\n/, 'Flags:\n')
  );
}

export interface FlannelctlDeps {
  /** Replaces the store (tests). */
  readonly openStore?: StoreOpener;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

export async function flannelctlMain(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CtlIO, deps: FlannelctlDeps = {}): Promise<number> {
  let split: ReturnType<typeof splitArgv>;
  let options: ReturnType<typeof parseCtlOptions>;
  try {
    split = splitArgv(argv);
    options = parseCtlOptions(split.common, env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`flannelctl: ${err.message}\nRun 'flannelctl -h' for usage.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (options.version) {
    io.stdout(`${versionLine()}\n`);
    return EXIT_OK;
  }
  const { command } = split;
  if (command === undefined || command === 'help') {
    const topic = command === 'help' ? split.rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined) return flannelctlMain([topic, '-h'], env, io, deps);
    // "flannelctl" alone is a usage error; "-h" and "help" ask for the usage.
    const asked = command === 'help' || argv.some((a) => /^--?h(elp)?$/.test(a));
    (asked ? io.stdout : io.stderr)(flannelctlUsage());
    return asked ? EXIT_OK : EXIT_USAGE;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    io.stderr(`flannelctl: unknown command ${JSON.stringify(command)} (commands: ${Object.keys(COMMANDS).join(', ')}); run 'flannelctl -h' for usage\n`);
    return EXIT_USAGE;
  }
  const ctx = createCtlContext({ options, env, io, openStore: deps.openStore, now: deps.now });
  try {
    const run = await entry.load();
    return await run(ctx, split.rest, deps.signal ?? AbortSignal.timeout(5 * 60_000));
  } catch (err) {
    return reportFailure(command, err, io);
  } finally {
    ctx.close();
  }
}

/** Errors a subcommand let through: usage errors exit 2, the rest 1, each with one clear line. */
function reportFailure(command: string, err: unknown, io: CtlIO): number {
  if (err instanceof UsageError) {
    io.stderr(`flannelctl ${command}: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError || err instanceof StoreError || err instanceof FlannelError) {
    io.stderr(`flannelctl ${command}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  io.stderr(`flannelctl ${command}: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}\n`);
  return EXIT_FAILURE;
}
