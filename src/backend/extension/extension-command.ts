import { spawn } from 'node:child_process';
import { FlannelError } from '../../errors.js';
import { commandArgv, trimSpace } from './command-line.js';

/** The four commands of the extension backend, by their config field name. */
export type ExtensionCommandField = 'PreStartupCommand' | 'PostStartupCommand' | 'SubnetAddCommand' | 'SubnetRemoveCommand';

/** An extension command that could not be started, failed, or was killed; names the field and the command. */
export class ExtensionCommandError extends FlannelError {
  readonly field: ExtensionCommandField;
  readonly command: string;
  readonly output: string;
  readonly exitCode: number | undefined;
  constructor(field: ExtensionCommandField, command: string, reason: string, opts: { output?: string; exitCode?: number; cause?: unknown } = {}) {
    const output = opts.output ?? '';
    super('ERR_EXTENSION_COMMAND', `${field} ${JSON.stringify(command)} failed: ${reason}; output: ${JSON.stringify(output)}`, { cause: opts.cause });
    this.field = field;
    this.command = command;
    this.output = output;
    this.exitCode = opts.exitCode;
  }
}

export interface ExtensionCommandRun {
  readonly field: ExtensionCommandField;
  /** The configured command string (split and expanded here). */
  readonly command: string;
  /** Variables flannel sets for this command, added to the daemon's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Written to standard input, followed by a newline, as flannel does. */
  readonly stdin: string;
  /** Aborting kills the command (SIGTERM). */
  readonly signal?: AbortSignal;
}

/**
 * Runs one extension command as flannel does: no shell; the command string split into fields
 * and each expanded from the daemon's environment plus `env`; that environment given to the
 * program; `stdin` and a newline on its standard input; its standard output and error gathered
 * in the order they arrive, white space trimmed (Go's CombinedOutput + TrimSpace). Resolves with
 * that output when it exits 0; throws ExtensionCommandError otherwise.
 */
export function runExtensionCommand(run: ExtensionCommandRun): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, ...run.env };
  const [file, ...args] = commandArgv(run.command, env);
  const fail = (reason: string, opts: { output?: string; exitCode?: number; cause?: unknown } = {}) =>
    new ExtensionCommandError(run.field, run.command, reason, opts);
  if (file === undefined || file === '') return Promise.reject(fail('no program to run'));
  if (run.signal?.aborted) return Promise.reject(run.signal.reason as Error);

  return new Promise<string>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env, signal: run.signal, killSignal: 'SIGTERM' });
    const chunks: Buffer[] = [];
    const collect = (b: Buffer) => chunks.push(b);
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // A program that does not read its input closes the pipe: EPIPE is no failure of the command.
    child.stdin.on('error', () => {});
    child.stdin.end(`${run.stdin}\n`);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, sig) => {
      const output = trimSpace(Buffer.concat(chunks).toString('utf8'));
      if (run.signal?.aborted) reject(run.signal.reason as Error);
      else if (spawnError) {
        const errno = (spawnError as NodeJS.ErrnoException).code;
        reject(fail(`cannot run ${JSON.stringify(file)}${errno ? ` (${errno})` : ''}: ${spawnError.message}`, { output, cause: spawnError }));
      } else if (sig) reject(fail(`killed by ${sig}`, { output }));
      else if (code !== 0) reject(fail(`exit status ${code}`, { output, exitCode: code ?? undefined }));
      else resolve(output);
    });
  });
}
