/**
 * Runs a delegate to completion without loading node:child_process. The plugin is a one-shot
 * process that has nothing else to do while its delegate runs (as Go's exec.Cmd.Run blocks
 * flannel's plugin), and at one start per pod verb, loading child_process (with the streams, net
 * and dgram it brings: ~3-10 ms of CPU per run) was the largest part of the plugin's own
 * start-up. Node's spawnSync() is a thin layer over its `spawn_sync` binding; this calls that
 * binding the same way (the same options: file, args with argv0, envPairs, pipes for stdin,
 * stdout and stderr, timeout, maxBuffer, kill signal).
 *
 * The binding is reached through process.binding(), which Node keeps for compatibility
 * (DEP0111, a documentation-only deprecation). When it is not there or does not take these
 * options, loadSpawnSync() answers undefined and the caller falls back to child_process.
 * A SIGTERM that arrives while the delegate runs is acted on when it exits.
 */
import { getSystemErrorName } from 'node:util';

/** Linux's SIGKILL (the binding takes a number). */
const SIGKILL = 9;

export interface SyncSpawnOptions {
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
  readonly input: string;
  /** Kill the child (SIGKILL) after this long. */
  readonly timeoutMs: number;
  /** Kill the child (SIGKILL) once stdout or stderr holds more than this. */
  readonly maxBuffer: number;
}

export interface SyncSpawnResult {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** The errno name when the child could not be run, timed out (ETIMEDOUT) or said too much (ENOBUFS). */
  readonly error?: string;
}

export type SyncSpawn = (opts: SyncSpawnOptions) => SyncSpawnResult;

interface BindingResult {
  status?: number | null;
  signal?: string | null;
  output?: (Buffer | null)[] | null;
  error?: number;
}

interface SpawnSyncBinding {
  spawn(options: Record<string, unknown>): BindingResult;
}

/** Node's spawn_sync binding as a SyncSpawn, or undefined when this Node does not offer it. */
export function loadSpawnSync(): SyncSpawn | undefined {
  let binding: SpawnSyncBinding;
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding('spawn_sync') as Partial<SpawnSyncBinding> | undefined;
    if (typeof b?.spawn !== 'function') return undefined;
    binding = b as SpawnSyncBinding;
  } catch {
    return undefined;
  }
  return (opts) => {
    const envPairs: string[] = [];
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) envPairs.push(`${k}=${v}`);
    const r = binding.spawn({
      file: opts.file,
      args: [opts.file],
      envPairs,
      stdio: [
        { type: 'pipe', readable: true, writable: false, input: Buffer.from(opts.input, 'utf8') },
        { type: 'pipe', readable: false, writable: true },
        { type: 'pipe', readable: false, writable: true },
      ],
      detached: false,
      windowsHide: false,
      windowsVerbatimArguments: false,
      timeout: opts.timeoutMs,
      maxBuffer: opts.maxBuffer,
      killSignal: SIGKILL,
    });
    const out = r.output ?? [];
    return {
      status: typeof r.status === 'number' ? r.status : null,
      signal: typeof r.signal === 'string' ? r.signal : null,
      stdout: out[1] ?? Buffer.alloc(0),
      stderr: out[2] ?? Buffer.alloc(0),
      ...(typeof r.error === 'number' && r.error !== 0 ? { error: getSystemErrorName(r.error) } : {}),
    };
  };
}
