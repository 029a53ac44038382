/**
 * Native addons inside the packaged executables. A single-executable application cannot
 * dlopen() from memory, so the addon travels as a SEA asset and is loaded either from a file
 * next to the executable (`<dir>/<name>`, for operators who want to ship or audit it
 * separately) or from a private copy that no other process can reach or swap, with nothing left
 * behind:
 * - an unnamed file (O_TMPFILE) in $TMPDIR, mode 0500, loaded through /proc/self/fd/<fd> (its
 *   descriptor kept open, see loadUnnamedCopy): a few system calls, which the CNI plugin, started
 *   once per pod verb, cares about;
 * - where the file system or the kernel cannot make unnamed files, or /proc is not mounted: a
 *   fresh directory under $TMPDIR (mode 0700) with the file (0500) in it, loaded, then both
 *   removed at once.
 */
import { closeSync, constants as fsConstants, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getRawAsset, isSea } from 'node:sea';
import { FlannelError } from '../errors.js';

/** An addon could not be found or loaded. */
export class NativeAddonError extends FlannelError {
  constructor(
    readonly addon: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_NATIVE_ADDON', `native addon ${addon}: ${message}`, options);
  }
}

export interface AddonSource {
  /** The SEA asset's bytes, or undefined when the executable does not carry it. */
  readonly asset: (key: string) => Uint8Array | undefined;
  readonly execPath: string;
  readonly tmpDir: string;
}

const loaded = new Map<string, unknown>();

/** The exports of the addon `name` (e.g. "netlink.node"), loaded once per process. */
export function loadNativeAddon(name: string, source: AddonSource = seaSource()): unknown {
  const hit = loaded.get(name);
  if (hit !== undefined) return hit;
  const beside = join(dirname(source.execPath), name);
  const mod = { exports: {} as unknown };
  if (existsSync(beside)) {
    dlopen(name, mod, beside);
  } else {
    const bytes = source.asset(name);
    if (!bytes) throw new NativeAddonError(name, `not found next to ${source.execPath} nor inside it`);
    if (!loadUnnamedCopy(mod, bytes, source.tmpDir)) loadCopyInTempDir(name, mod, bytes, source.tmpDir);
  }
  loaded.set(name, mod.exports);
  return mod.exports;
}

/** os.constants.dlopen.RTLD_NOW on Linux (node:os is not loaded for it: the CNI plugin loads an addon at every run). */
const RTLD_NOW = 2;

/** Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY), the same on x86-64 and arm64. */
const O_TMPFILE = 0o20200000;

/**
 * Loads `bytes` from an unnamed file in `tmpDir`; false when no such file could be made or loaded
 * by its /proc path. The descriptor (close-on-exec, as Node opens files) stays open while the
 * process lives: the C library knows a loaded object by the path it was opened by, so a second
 * addon must not come by a /proc/self/fd/<n> that a closed descriptor of the first one freed.
 */
function loadUnnamedCopy(mod: { exports: unknown }, bytes: Uint8Array, tmpDir: string): boolean {
  let fd: number;
  try {
    fd = openSync(tmpDir, O_TMPFILE | fsConstants.O_RDWR, 0o500);
  } catch {
    return false;
  }
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    process.dlopen(mod, `/proc/self/fd/${fd}`, RTLD_NOW);
    return true;
  } catch {
    closeSync(fd);
    return false;
  }
}

function loadCopyInTempDir(name: string, mod: { exports: unknown }, bytes: Uint8Array, tmpDir: string): void {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpDir, 'flannel-ts-addon-'));
  } catch (err) {
    throw new NativeAddonError(name, `cannot make a private copy under ${tmpDir} ($TMPDIR): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  try {
    const file = join(dir, name);
    writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
    dlopen(name, mod, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function dlopen(name: string, mod: { exports: unknown }, file: string): void {
  try {
    process.dlopen(mod, file, RTLD_NOW);
  } catch (err) {
    throw new NativeAddonError(name, `cannot load ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function seaSource(): AddonSource {
  return {
    asset: (key) => {
      if (!isSea()) return undefined;
      try {
        const raw = getRawAsset(key);
        return typeof raw === 'string' ? Buffer.from(raw) : new Uint8Array(raw);
      } catch {
        return undefined;
      }
    },
    execPath: process.execPath,
    tmpDir: tempDir(),
  };
}

/** os.tmpdir() as Node computes it on Linux, without loading node:os (~0.3 ms of a CNI plugin run). */
export function tempDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}
