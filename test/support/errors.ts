/**
 * Errors raised by the test support code. They extend the product's FlannelError so tests can
 * match on `code` the same way the product does; they live here because only tests raise them.
 */
import { FlannelError } from '../../src/errors.js';

/** A command exited non-zero, was killed by a signal, timed out or could not be spawned. */
export class CommandError extends FlannelError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    argv: readonly string[],
    result: { exitCode: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string },
    reason: string,
    options?: { cause?: unknown },
  ) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    super('ERR_COMMAND', `command ${JSON.stringify(argv)} ${reason}${tail ? `: ${tail}` : ''}`, options);
    this.argv = argv;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** poll() ran out of time before its condition held. */
export class PollTimeoutError extends FlannelError {
  readonly what: string;
  readonly timeoutMs: number;
  readonly attempts: number;
  constructor(what: string, timeoutMs: number, attempts: number, options?: { cause?: unknown }) {
    const last = options?.cause instanceof Error ? ` (last error: ${options.cause.message})` : '';
    super('ERR_POLL_TIMEOUT', `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}${last}`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
  }
}

/** The test cluster could not be built or used as asked. */
export class HarnessError extends FlannelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HARNESS', message, options);
  }
}
