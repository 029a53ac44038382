/**
 * The `flannel` CNI plugin's entry point: CNI_COMMAND picks a verb from the table, the network
 * config comes from stdin, the result (ADD) or nothing goes to stdout, and any failure becomes
 * the spec's error document on stdout with a non-zero exit. Verb modules are loaded on demand
 * so that ADD and DEL, run once per pod, load only what they use.
 */
import { readFileSync } from 'node:fs';
import { CniError, errorMessage } from '../errors.js';
import { parseCniEnv, parseCommand } from './cni-env.js';
import { CURRENT_VERSION, CniCode, SUPPORTED_VERSIONS, VERB_SINCE, compareVersions, type Verb } from './cni-spec.js';
import { allWrittenSync, fdWriter } from './fd-writer.js';
import { parseNetConf } from './net-conf.js';
import { addonExit } from './spawn-sync.js';
import { sinceStartMs } from './timing.js';
import type { VerbHandler } from './verb-context.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;

export interface CniIO {
  /** The whole of stdin. */
  readonly readStdin: () => Promise<Buffer>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const HANDLERS: Readonly<Record<Exclude<Verb, 'VERSION'>, () => Promise<VerbHandler>>> = {
  ADD: async () => (await import('./cmd-add.js')).cmdAdd,
  DEL: async () => (await import('./cmd-del.js')).cmdDel,
  CHECK: async () => (await import('./cmd-check.js')).cmdCheck,
  STATUS: async () => (await import('./cmd-status.js')).cmdStatus,
  GC: async () => (await import('./cmd-gc.js')).cmdGc,
};

/** The VERSION answer. */
export function versionInfo(): string {
  return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + '\n';
}

/** The spec's error document. */
export function errorDocument(err: CniError, cniVersion: string): string {
  const doc: Record<string, unknown> = { cniVersion, code: err.cniCode, msg: err.message };
  if (err.details) doc.details = err.details;
  return JSON.stringify(doc) + '\n';
}

/**
 * Runs one plugin invocation; resolves to the exit code. SIGTERM/SIGINT cancel it where it waits
 * on the event loop (stdin read as a stream, a delegate run through child_process, which is then
 * killed) and it ends with an error document; a synchronous run (the usual one, see
 * spawn-sync.ts) finishes first and answers.
 */
export async function cniMain(env: NodeJS.ProcessEnv, io: CniIO): Promise<number> {
  const startedMs = sinceStartMs();
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => ac.abort(new CniError(CniCode.TRY_AGAIN_LATER, `interrupted by ${sig}`));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let version = CURRENT_VERSION;
  let command: Verb | undefined;
  try {
    command = parseCommand(env);
    if (command === 'VERSION') {
      io.stdout(versionInfo());
      return EXIT_OK;
    }
    const conf = parseNetConf(await io.readStdin());
    version = conf.effectiveVersion;
    const since = VERB_SINCE[command];
    if (compareVersions(conf.effectiveVersion, since) < 0) {
      throw new CniError(CniCode.INCOMPATIBLE_VERSION, `config version ${conf.effectiveVersion} does not allow ${command} (it needs ${since} or later)`);
    }
    const cniEnv = parseCniEnv(env, command);
    const handler = await HANDLERS[command]();
    const log = (line: string) => io.stderr(`flannel: ${line}\n`);
    const out = await handler({ conf, env: cniEnv, processEnv: env, signal: ac.signal, log, stderr: io.stderr, startedMs });
    if (out !== undefined) io.stdout(out);
    return EXIT_OK;
  } catch (err) {
    const reason: unknown = ac.signal.aborted ? ac.signal.reason : err;
    const e = reason instanceof CniError ? reason : new CniError(CniCode.INTERNAL, `internal error: ${errorMessage(reason)}`, { cause: reason });
    io.stdout(errorDocument(e, version));
    io.stderr(`flannel: ${command ?? 'CNI'} ${env.CNI_CONTAINERID ?? ''}: error ${e.cniCode}: ${e.message}${e.details ? ` (${e.details})` : ''}\n`);
    return EXIT_ERROR;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Stdin read synchronously when it is a pipe or file (the fast path), else as a stream. */
export async function readProcessStdin(): Promise<Buffer> {
  try {
    return readFileSync(0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
      throw new CniError(CniCode.IO_FAILURE, `cannot read the network config from stdin: ${code ?? errorMessage(err)}`, { cause: err });
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * How the shims end the plugin's process once its answer is out, when there is a quicker way than
 * process.exit(): the spawn addon's _exit() after a delegate ran through it, if every line went
 * out synchronously (nothing waits in a stream). Skips Node's teardown, which costs a run that is
 * mostly start-up ~1 ms (see spawn-sync.ts).
 */
export function quickExit(): ((code: number) => never) | undefined {
  return allWrittenSync() ? addonExit() : undefined;
}

/** The real process's stdin, stdout and stderr (written to the descriptors: see fd-writer.ts). */
export function processIO(): CniIO {
  return {
    readStdin: readProcessStdin,
    stdout: fdWriter(1, () => process.stdout),
    stderr: fdWriter(2, () => process.stderr),
  };
}
