/**
 * The plugin's state: one file per container under dataDir, named by the container ID and
 * holding the delegate config ADD used, so that DEL can replay it (the same files flannel's
 * plugin writes, so either plugin can delete what the other added). Paths are checked to stay
 * inside dataDir; writes are atomic (temp file, then rename), so a reader sees the whole file or
 * none. Not fsync'ed, as flannel's plugin and host-local do not sync theirs: an fsync commits
 * the file system's whole journal, which took 3-30 ms per ADD when pods were added one after
 * another (host-local's files of the previous pod in it). After a power loss a state file may
 * be missing or empty; DEL succeeds with either (nothing saved; a file that does not parse is left
 * in place). The file calls are synchronous: the plugin is a one-shot process with nothing else
 * to do meanwhile, and they skip the thread pool.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError('cannot create data directory', dataDir, err);
  }
  // A leading '.' can never be a container ID, so a temp file never shadows a state file. The
  // name only needs to differ between concurrent runs ('wx' refuses a clash): pid and
  // Math.random() do, without loading node:crypto (~2 ms of a run that is mostly start-up).
  const tmp = join(resolve(dataDir), `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw ioError('cannot save delegate config to', path, err);
  }
}

/** The saved state of `containerId`, or undefined when there is none. */
export async function readState(dataDir: string, containerId: string): Promise<string | undefined> {
  const path = statePath(dataDir, containerId);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('cannot read saved delegate config', path, err);
  }
}

/** Removes the state of `containerId`; a missing file is fine. */
export async function removeState(dataDir: string, containerId: string): Promise<void> {
  const path = statePath(dataDir, containerId);
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot remove saved delegate config', path, err);
  }
}

/** Container IDs with saved state (files named like container IDs; temp files skipped). */
export async function listStates(dataDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('cannot list data directory', dataDir, err);
  }
  return names.filter((n) => CONTAINER_ID_PATTERN.test(n)).sort();
}
