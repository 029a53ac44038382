/**
 * The plugin's state: one file per container under dataDir, named by the container ID and
 * holding the delegate config ADD used, so that DEL can replay it (the same files flannel's
 * plugin writes, so either plugin can delete what the other added). Paths are checked to stay
 * inside dataDir; writes are atomic (temp file, fsync, rename).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { CniError } from '../errors.js';
import { checkContainerId } from './cni-env.js';
import { CONTAINER_ID_PATTERN, CniCode } from './cni-spec.js';

/** The state file of `containerId`; error 4 when the ID is not a plain name inside dataDir. */
export function statePath(dataDir: string, containerId: string): string {
  checkContainerId(containerId);
  const dir = resolve(dataDir);
  const path = resolve(dir, containerId);
  if (!path.startsWith(dir + sep) || path.slice(dir.length + 1).includes(sep)) {
    throw new CniError(CniCode.INVALID_ENVIRONMENT, `CNI_CONTAINERID=${JSON.stringify(containerId)}: would name a file outside ${dir}`);
  }
  return path;
}

function ioError(what: string, path: string, err: unknown): CniError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new CniError(CniCode.IO_FAILURE, `${what} ${path}: ${code}`, { cause: err });
}

/** Saves `bytes` as the state of `containerId` (dataDir created 0700, file 0600). */
export async function saveState(dataDir: string, containerId: string, bytes: string): Promise<void> {
  const path = statePath(dataDir, containerId);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError('cannot create data directory', dataDir, err);
  }
  // A leading '.' can never be a container ID, so a temp file never shadows a state file.
  const tmp = join(resolve(dataDir), `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError('cannot save delegate config to', path, err);
  }
}

/** The saved state of `containerId`, or undefined when there is none. */
export async function readState(dataDir: string, containerId: string): Promise<string | undefined> {
  const path = statePath(dataDir, containerId);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('cannot read saved delegate config', path, err);
  }
}

/** Removes the state of `containerId`; a missing file is fine. */
export async function removeState(dataDir: string, containerId: string): Promise<void> {
  const path = statePath(dataDir, containerId);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot remove saved delegate config', path, err);
  }
}

/** Container IDs with saved state (files named like container IDs; temp files skipped). */
export async function listStates(dataDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('cannot list data directory', dataDir, err);
  }
  return names.filter((n) => CONTAINER_ID_PATTERN.test(n)).sort();
}
