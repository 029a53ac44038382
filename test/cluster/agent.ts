/**
 * A flanneld (or stand-in) process running inside one host namespace of the test cluster,
 * logging to <hostdir>/flanneld.log (appended across restarts).
 */
import { readFile, stat } from 'node:fs/promises';
import { HarnessError } from '../support/errors.js';
import { ManagedProcess } from '../support/managed-process.js';
import { poll } from '../support/poll.js';

export interface AgentSpawnSpec {
  host: number;
  ns: string;
  /** The program and its leading arguments, e.g. [node, bin/flanneld]. */
  command: readonly string[];
  args: readonly string[];
  env?: Record<string, string>;
  subnetFile: string;
  logFile: string;
  cwd: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Parses subnet.env (KEY=VALUE lines; blank lines and '#' comments skipped). */
export function parseSubnetEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

export class Agent {
  readonly host: number;
  readonly ns: string;
  readonly subnetFile: string;
  readonly logFile: string;
  readonly argv: readonly string[];
  /** Wall-clock time (ms) at spawn. */
  readonly startedAt: number;
  readonly #proc: ManagedProcess;

  constructor(spec: AgentSpawnSpec) {
    this.host = spec.host;
    this.ns = spec.ns;
    this.subnetFile = spec.subnetFile;
    this.logFile = spec.logFile;
    this.argv = ['ip', 'netns', 'exec', spec.ns, ...spec.command, ...spec.args];
    this.startedAt = Date.now();
    this.#proc = new ManagedProcess({ argv: this.argv, logFile: spec.logFile, cwd: spec.cwd, env: spec.env });
  }

  get pid(): number {
    return this.#proc.pid;
  }

  get running(): boolean {
    return this.#proc.running;
  }

  /** Exit code once exited (128 + signal number when killed by a signal), else undefined. */
  get exitCode(): number | undefined {
    return this.#proc.exit?.code;
  }

  /** Sends `signal`, waits up to 5 s, then SIGKILLs. Resolves to the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    return (await this.#proc.stop(signal, 5000)).code;
  }

  /** SIGKILL; resolves to the exit code (137). */
  async kill(): Promise<number> {
    return (await this.#proc.kill()).code;
  }

  /** Waits for the agent to exit on its own; resolves to the exit code. */
  async waitForExit(opts: WaitOptions = {}): Promise<number> {
    const exit = await poll(() => this.#proc.exit, {
      what: `agent on host ${this.host} (pid ${this.pid}) to exit`,
      timeoutMs: opts.timeoutMs ?? 10_000,
      signal: opts.signal,
    });
    return exit.code;
  }

  /** This agent's part of the log (since it started), or the whole file with `all`. */
  async readLog(opts: { all?: boolean } = {}): Promise<string> {
    let buf: Buffer;
    try {
      buf = await readFile(this.logFile);
    } catch {
      return '';
    }
    return (opts.all ? buf : buf.subarray(this.#proc.logOffset)).toString('utf8');
  }

  /** The error lines (klog `E`) of this run's log. */
  async readErrors(): Promise<string[]> {
    return (await this.readLog()).split('\n').filter((l) => /^E\d{4} /.test(l));
  }

  /**
   * Waits until subnet.env exists and holds FLANNEL_SUBNET; returns it parsed. With `fresh`,
   * only a file written after this agent started counts. Fails early if the agent exits.
   */
  async waitForSubnetFile(opts: WaitOptions & { fresh?: boolean } = {}): Promise<Record<string, string>> {
    return poll(
      async () => {
        await this.#throwIfExited('writing its subnet file');
        let text: string;
        try {
          if (opts.fresh && (await stat(this.subnetFile)).mtimeMs < this.startedAt) return undefined;
          text = await readFile(this.subnetFile, 'utf8');
        } catch {
          return undefined;
        }
        const env = parseSubnetEnv(text);
        return env.FLANNEL_SUBNET !== undefined ? env : undefined;
      },
      { what: `subnet file ${this.subnetFile} of host ${this.host}`, timeoutMs: opts.timeoutMs ?? 10_000, signal: opts.signal },
    );
  }

  /** Waits until this agent's log matches `re`; returns the match. Fails early if the agent exits. */
  async waitForLog(re: RegExp, opts: WaitOptions = {}): Promise<RegExpExecArray> {
    return poll(
      async () => {
        const m = re.exec(await this.readLog());
        if (m) return m;
        await this.#throwIfExited(`logging ${re}`);
        return undefined;
      },
      { what: `log of host ${this.host} to match ${re}`, timeoutMs: opts.timeoutMs ?? 10_000, signal: opts.signal },
    );
  }

  async #throwIfExited(what: string): Promise<void> {
    const exit = this.#proc.exit;
    if (exit === undefined) return;
    const tail = (await this.readLog()).trimEnd().split('\n').slice(-15).join('\n');
    throw new HarnessError(
      `agent on host ${this.host} exited with code ${exit.code} before ${what}; log ${this.logFile}:\n${tail}`,
    );
  }

  /** For a synchronous exit handler: SIGKILL without waiting. */
  killSync(): void {
    this.#proc.signal('SIGKILL');
  }
}
