/**
 * Runs a delegate to completion without loading node:child_process. The plugin is a one-shot
 * process that has nothing else to do while its delegate runs (as Go's exec.Cmd.Run blocks
 * flannel's plugin), and at one start per pod verb, loading child_process (with the streams, net
 * and dgram it brings: ~3-10 ms of CPU per run) was the largest part of the plugin's own
 * start-up. Two ways, the first one there:
 *
 * - The spawn addon (native/spawn/spawn.c): posix_spawn, which starts the child without marking
 *   this process's memory copy-on-write as fork() does. Node spawns with fork(), after which
 *   every page the plugin writes (its answer, and above all Node's teardown at exit) takes a
 *   page fault: ~240 of them; the addon cut an ADD's CPU time by ~2-3.5 ms on the test VM. It also
 *   ends the process with _exit() once the answer is written (addonExit(), see cni-main.ts
 *   quickExit()), skipping Node's teardown.
 * - Node's `spawn_sync` binding, which its spawnSync() is a thin layer over, called the same way
 *   (the same options: file, args with argv0, envPairs, pipes for stdin, stdout and stderr,
 *   timeout, maxBuffer, kill signal). It is reached through process.binding(), which Node keeps
 *   for compatibility (DEP0111, a documentation-only deprecation).
 *
 * When neither is there, loadSpawnSync() answers undefined and the caller falls back to
 * child_process. A SIGTERM that arrives while the delegate runs does not cut it short: the
 * delegate finishes and the plugin answers with its result (the run is synchronous).
 */
import { getSystemErrorName } from 'node:util';
import { loadSpawnNative } from './spawn-native.js';

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

/** What the spawn addon exports (native/spawn/spawn.c). */
export interface SpawnAddon {
  run(file: string, argv: readonly string[], envPairs: readonly string[], input: Buffer, timeoutMs: number, maxBuffer: number): {
    status: number | null;
    signal: string | null;
    stdout: Buffer;
    stderr: Buffer;
    error: string | null;
  };
  exit(code: number): never;
}

let addon: SpawnAddon | null | undefined;

/** The spawn addon, loaded once; null when it is not there or cannot be loaded. */
function spawnAddon(): SpawnAddon | null {
  if (addon === undefined) {
    try {
      const a = loadSpawnNative() as Partial<SpawnAddon>;
      addon = typeof a.run === 'function' && typeof a.exit === 'function' ? (a as SpawnAddon) : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** The first way there to run a delegate synchronously (see above), or undefined. */
export function loadSpawnSync(): SyncSpawn | undefined {
  return addonSpawnSync() ?? bindingSpawnSync();
}

/** The spawn addon as a SyncSpawn, or undefined when it is not there. */
export function addonSpawnSync(): SyncSpawn | undefined {
  const a = spawnAddon();
  if (a === null) return undefined;
  return (opts) => {
    const r = a.run(opts.file, [opts.file], envPairs(opts.env), Buffer.from(opts.input, 'utf8'), opts.timeoutMs, opts.maxBuffer);
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ...(r.error !== null ? { error: r.error } : {}) };
  };
}

/** The addon's _exit() when a delegate run loaded the addon, else undefined. */
export function addonExit(): ((code: number) => never) | undefined {
  return addon ? addon.exit : undefined;
}

function envPairs(env: NodeJS.ProcessEnv): string[] {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) pairs.push(`${k}=${v}`);
  return pairs;
}

/** Node's spawn_sync binding as a SyncSpawn, or undefined when this Node does not offer it. */
export function bindingSpawnSync(): SyncSpawn | undefined {
  let binding: SpawnSyncBinding;
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding('spawn_sync') as Partial<SpawnSyncBinding> | undefined;
    if (typeof b?.spawn !== 'function') return undefined;
    binding = b as SpawnSyncBinding;
  } catch {
    return undefined;
  }
  return (opts) => {
    const r = binding.spawn({
      file: opts.file,
      args: [opts.file],
      envPairs: envPairs(opts.env),
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
