/**
 * A long-running child process whose stdout and stderr are appended to a log file, with a
 * bounded stop (signal, then SIGKILL after a grace period) and an exit promise.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { HarnessError } from './errors.js';

export interface ManagedProcessOptions {
  argv: readonly string[];
  logFile: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** How a process ended; `code` is the exit code, or 128 + signal number when killed. */
export interface ProcessExit {
  code: number;
  signal: NodeJS.Signals | null;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGTERM: 15,
};

export class ManagedProcess {
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly pid: number;
  /** Byte offset of the log file when this process started: its own output begins there. */
  readonly logOffset: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  #exit: ProcessExit | undefined;

  constructor(opts: ManagedProcessOptions) {
    const [file, ...args] = opts.argv;
    if (file === undefined) throw new HarnessError('ManagedProcess: empty argv');
    this.argv = opts.argv;
    this.logFile = opts.logFile;
    const fd = openSync(opts.logFile, 'a');
    try {
      this.logOffset = statSync(opts.logFile).size;
      const child = spawn(file, args, {
        cwd: opts.cwd,
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        stdio: ['ignore', fd, fd],
      });
      this.exited = new Promise<ProcessExit>((resolve) => {
        child.on('error', () => resolve({ code: 127, signal: null }));
        child.on('exit', (code, signal) => {
          resolve({ code: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0), signal });
        });
      }).then((e) => (this.#exit = e));
      if (child.pid === undefined) throw new HarnessError(`could not spawn ${JSON.stringify(opts.argv)}`);
      this.pid = child.pid;
    } finally {
      closeSync(fd);
    }
  }

  /** The exit, once the process has ended; undefined while it runs. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.#exit !== undefined) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // exited meanwhile
    }
  }

  /** Sends `sig`, waits up to graceMs, then SIGKILLs and waits up to 2 s more. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ProcessExit> {
    this.signal(sig);
    const e = await this.waitForExit(graceMs);
    if (e) return e;
    this.signal('SIGKILL');
    const k = await this.waitForExit(2000);
    if (k) return k;
    throw new HarnessError(`process ${this.pid} ${JSON.stringify(this.argv)} did not exit after SIGKILL`);
  }

  /** SIGKILL, and wait (bounded) until the process is gone. */
  kill(): Promise<ProcessExit> {
    return this.stop('SIGKILL', 2000);
  }

  /** The exit, or undefined if the process is still running after timeoutMs. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit | undefined> {
    if (this.#exit) return this.#exit;
    const ac = new AbortController();
    const timeout = delay(timeoutMs, undefined, { signal: ac.signal }).then(
      () => undefined,
      () => undefined,
    );
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      ac.abort();
    }
  }
}
