/**
 * Running delegate plugins as libcni's invoke package does: the executable named by the
 * config's `type` is looked up in the CNI_PATH directories and run with this plugin's own
 * environment (CNI_COMMAND set to the verb), the config on stdin, its stderr passed through.
 * A delegate's CNI error keeps its code; anything else it does wrong is error 100. File
 * look-ups and, where Node offers it, the delegate's run are synchronous: the plugin is a
 * one-shot process with nothing else to do meanwhile (see spawn-sync.ts; node:child_process is
 * then never loaded). Elsewhere the delegate runs through child_process, killed on abort.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniError } from '../errors.js';
import { CniCode, type Verb } from './cni-spec.js';
import { isObject } from './net-conf.js';
import { loadSpawnSync, type SyncSpawn } from './spawn-sync.js';
import { sinceStartMs } from './timing.js';

export interface DelegateRun {
  /** The plugin's name (the config's `type`). */
  readonly type: string;
  /** Its executable, when already looked up with findPlugin(). */
  readonly file?: string;
  readonly command: Verb;
  /** The config written to the delegate's stdin. */
  readonly stdin: string;
  /** The environment; CNI_COMMAND is set from `command`, other CNI_* are passed as they are. */
  readonly env: NodeJS.ProcessEnv;
  readonly cniPath: readonly string[];
  readonly signal: AbortSignal;
  /** Kill the delegate after this long (default 5 minutes: runtimes give up well before). */
  readonly timeoutMs?: number;
  /** Where the delegate's stderr goes (default: discarded). */
  readonly stderr?: (text: string) => void;
}

export interface DelegateOutput {
  readonly stdout: string;
  /** Wall-clock time of the delegate run (spawn to exit), for the latency benchmark. */
  readonly elapsedMs: number;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const MAX_STDOUT = 16 << 20;
const STDERR_TAIL = 2000;

/** The delegate's executable: the first regular file named `type` in a CNI_PATH directory. */
export async function findPlugin(type: string, cniPath: readonly string[]): Promise<string> {
  if (type === '' || type === '.' || type === '..' || type.includes('/') || type.includes('\0')) {
    throw new CniError(CniCode.INVALID_NETWORK_CONFIG, `invalid network config: plugin type ${JSON.stringify(type)} is not a plain file name`);
  }
  if (cniPath.length === 0) throw new CniError(CniCode.INVALID_ENVIRONMENT, `required environment variable CNI_PATH is missing (needed to find plugin ${JSON.stringify(type)})`);
  for (const dir of cniPath) {
    const full = join(dir, type);
    try {
      if (statSync(full, { throwIfNoEntry: false })?.isFile()) return full;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(CniCode.INVALID_NETWORK_CONFIG, `failed to find plugin ${JSON.stringify(type)} in path [${cniPath.join(' ')}]`, {
    details: `no executable named ${type} in CNI_PATH=${cniPath.join(':')}`,
  });
}

let syncSpawn: SyncSpawn | null | undefined;

/**
 * Runs a delegate; resolves with its stdout when it exits 0, else throws its error as a CniError.
 * `way` picks how (tests): by default the first synchronous way there is (spawn-sync.ts), else
 * child_process; 'async' is child_process even where a synchronous way is there.
 */
export async function runDelegate(run: DelegateRun, way: SyncSpawn | 'async' | 'auto' = 'auto'): Promise<DelegateOutput> {
  const file = run.file ?? (await findPlugin(run.type, run.cniPath));
  run.signal.throwIfAborted();
  if (way === 'auto' && syncSpawn === undefined) syncSpawn = loadSpawnSync() ?? null;
  const sync = way === 'auto' ? syncSpawn : way === 'async' ? null : way;
  if (sync !== null && sync !== undefined) return runDelegateSync(sync, run, file);
  // Not import(): the packaged plugin's bundle is compiled by scripts/sea/cni-loader.cjs, whose
  // script has no ES module loader to import with (giving it one costs ~3 ms per start).
  const { spawn } = process.getBuiltinModule('node:child_process');
  const started = sinceStartMs();
  const timeoutMs = run.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `delegate ${run.type} ${run.command}`;
  return new Promise<DelegateOutput>((resolve, reject) => {
    const child = spawn(file, [], { env: { ...run.env, CNI_COMMAND: run.command }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errTail = '';
    let killedFor: string | undefined;
    const kill = (why: string) => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => kill('cancelled');
    run.signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_STDOUT) kill(`more than ${MAX_STDOUT} bytes of output`);
      else out.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      run.stderr?.(text);
      errTail = (errTail + text).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(run.stdin);
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(new CniError(CniCode.DELEGATE_FAILED, `${what}: cannot run ${file}: ${err.code ?? err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      done();
      const stdout = Buffer.concat(out).toString('utf8');
      const elapsedMs = sinceStartMs() - started;
      if (killedFor !== undefined) {
        reject(new CniError(CniCode.DELEGATE_FAILED, `${what}: killed: ${killedFor}`, { details: errTail.trim() || undefined }));
      } else if (code === 0) {
        resolve({ stdout, elapsedMs });
      } else {
        reject(delegateError(what, stdout, errTail, code, sig));
      }
    });
  });
}

function runDelegateSync(spawnSync: SyncSpawn, run: DelegateRun, file: string): DelegateOutput {
  const timeoutMs = run.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `delegate ${run.type} ${run.command}`;
  const started = sinceStartMs();
  const r = spawnSync({ file, env: { ...run.env, CNI_COMMAND: run.command }, input: run.stdin, timeoutMs, maxBuffer: MAX_STDOUT });
  const elapsedMs = sinceStartMs() - started;
  const errText = r.stderr.toString('utf8');
  if (errText !== '') run.stderr?.(errText);
  const errTail = errText.slice(-STDERR_TAIL);
  const stdout = r.stdout.toString('utf8');
  if (r.error === 'ETIMEDOUT' || r.error === 'ENOBUFS') {
    const why = r.error === 'ETIMEDOUT' ? `no answer within ${timeoutMs} ms` : `more than ${MAX_STDOUT} bytes of output`;
    throw new CniError(CniCode.DELEGATE_FAILED, `${what}: killed: ${why}`, { details: errTail.trim() || undefined });
  }
  // EPIPE: the delegate exited without reading all of its config, which is its own business.
  if (r.error !== undefined && r.error !== 'EPIPE') throw new CniError(CniCode.DELEGATE_FAILED, `${what}: cannot run ${file}: ${r.error}`);
  if (r.status === 0) return { stdout, elapsedMs };
  throw delegateError(what, stdout, errTail, r.status, r.signal as NodeJS.Signals | null);
}

/** The delegate's own CNI error (its code kept, the message prefixed), or error 100. */
function delegateError(what: string, stdout: string, errTail: string, code: number | null, sig: NodeJS.Signals | null): CniError {
  try {
    const e: unknown = JSON.parse(stdout);
    if (isObject(e) && typeof e.code === 'number' && e.code > 0 && typeof e.msg === 'string') {
      return new CniError(e.code, `${what}: ${e.msg}`, { details: typeof e.details === 'string' && e.details !== '' ? e.details : undefined });
    }
  } catch {
    // not a CNI error document
  }
  const status = code !== null ? `exit status ${code}` : `killed by ${sig ?? 'a signal'}`;
  const said = (stdout.trim() || errTail.trim()).slice(-STDERR_TAIL);
  return new CniError(CniCode.DELEGATE_FAILED, `${what}: ${status}${said ? `: ${said}` : ''}`);
}
