/**
 * run(): spawn a command, capture its output, and raise a CommandError (argv, exit code,
 * stderr) when it fails. Bounded by `timeoutMs` and cancellable with `signal`.
 */
import { spawn } from 'node:child_process';
import { CommandError } from './errors.js';

export interface RunOptions {
  signal?: AbortSignal;
  /** Kill the command (SIGKILL) after this long; default 10 s. */
  timeoutMs?: number;
  /** Extra environment variables, merged over this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** When true a non-zero exit is returned rather than thrown. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_OUTPUT = 16 * 1024 * 1024;

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('run: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise<RunResult>((resolve, reject) => {
    const result: RunResult = { stdout: '', stderr: '', exitCode: null, signal: null };
    if (opts.signal?.aborted) {
      reject(new CommandError(argv, result, 'aborted before start', { cause: opts.signal.reason }));
      return;
    }
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let why: string | undefined;
    let spawnError: unknown;
    const stop = (reason: string) => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (result.stdout.length < MAX_OUTPUT) result.stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (result.stderr.length < MAX_OUTPUT) result.stderr += d;
    });
    // A command that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (err) => {
      spawnError = err;
      why ??= `could not be run (${err.message})`;
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      result.exitCode = code;
      result.signal = sig;
      if (why !== undefined) {
        reject(new CommandError(argv, result, why, { cause: spawnError ?? opts.signal?.reason }));
      } else if (code !== 0 && !opts.allowFailure) {
        const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
        reject(new CommandError(argv, result, how));
      } else {
        resolve(result);
      }
    });
  });
}
