/**
 * Native addons inside the packaged executables. A single-executable application cannot
 * dlopen() from memory, so the addon travels as a SEA asset and is loaded either from a file
 * next to the executable (`<dir>/<name>`, for operators who want to ship or audit it
 * separately) or from a private copy: written into a fresh directory under $TMPDIR (mode 0700,
 * the file 0500), loaded with process.dlopen, then both removed at once (the mapping stays), so
 * nothing is left behind and no other user can swap the file between write and load.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
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
    const dir = mkdtempSync(join(source.tmpDir, 'flannel-ts-addon-'));
    try {
      const file = join(dir, name);
      writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
      dlopen(name, mod, file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  loaded.set(name, mod.exports);
  return mod.exports;
}

function dlopen(name: string, mod: { exports: unknown }, file: string): void {
  try {
    process.dlopen(mod, file, constants.dlopen.RTLD_NOW);
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
    tmpDir: tmpdir(),
  };
}
