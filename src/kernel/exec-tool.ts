/**
 * The one place that spawns kernel tools (iptables-restore, iptables-save, nft, ...). No shell:
 * argv goes to the program as is, input is written to its stdin. Every run is bounded in time
 * and output; failures are ToolErrors carrying argv, exit status and stderr.
 */
import { spawn } from 'node:child_process';
import { ToolError } from '../errors.js';

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolRunOptions {
  /** Written to the tool's stdin, which is then closed. Without it stdin is empty. */
  readonly stdin?: string;
  readonly signal?: AbortSignal;
  /** Kill the tool (SIGKILL) after this long; default 30 s. */
  readonly timeoutMs?: number;
}

/** Runs `argv[0]` with the rest as arguments; resolves with its output when it exits 0. */
export type ToolRunner = (argv: readonly string[], opts?: ToolRunOptions) => Promise<ToolResult>;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 64 << 20;
/** Tools live in sbin, which a daemon's PATH does not always hold. */
const EXTRA_PATH = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

function toolPath(): string {
  const parts = (process.env.PATH ?? '').split(':').filter((p) => p !== '');
  for (const p of EXTRA_PATH) if (!parts.includes(p)) parts.push(p);
  return parts.join(':');
}

/** Spawns a tool; see ToolRunner. */
export const runTool: ToolRunner = (argv, opts = {}) => {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new ToolError(argv, { reason: 'empty command line' }));
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return new Promise<ToolResult>((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PATH: toolPath(), LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let settled = false;
    let timedOut = false;
    let aborted = false;

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        return;
      }
      into.push(chunk);
    };
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    // The tool may exit before reading all of its input; its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');

    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new ToolError(argv, {
            code: e.code === 'ENOENT' ? 'ERR_TOOL_NOT_FOUND' : 'ERR_TOOL',
            reason: e.code === 'ENOENT' ? `${file} not found in ${toolPath()}` : `cannot run: ${e.message}`,
            cause: e,
          }),
        ),
      ),
    );
    child.on('close', (code, sig) =>
      finish(() => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (aborted) reject(signal?.reason as Error);
        else if (timedOut) reject(new ToolError(argv, { code: 'ERR_TOOL_TIMEOUT', reason: `no answer within ${timeoutMs} ms`, signal: sig, stderr }));
        else if (outBytes > MAX_OUTPUT_BYTES) reject(new ToolError(argv, { reason: `more than ${MAX_OUTPUT_BYTES} bytes of output`, signal: sig }));
        else if (code !== 0) reject(new ToolError(argv, { exitCode: code, signal: sig, stderr }));
        else resolve({ stdout, stderr });
      }),
    );
  });
};
