import { constants } from 'node:os';
import { KernelError, KernelNotFoundError } from '../errors.js';

/** Positive errno numbers that the layer gives meaning to. */
export const Errno = {
  ENOENT: constants.errno.ENOENT,
  ESRCH: constants.errno.ESRCH,
  ENODEV: constants.errno.ENODEV,
  EEXIST: constants.errno.EEXIST,
  EADDRNOTAVAIL: constants.errno.EADDRNOTAVAIL,
  ENETUNREACH: constants.errno.ENETUNREACH,
  ENOBUFS: constants.errno.ENOBUFS,
  EINTR: constants.errno.EINTR,
  ETIMEDOUT: constants.errno.ETIMEDOUT,
} as const;

/**
 * The platform's errno table. node:util through process.getBuiltinModule, not `import`: an ES
 * import builds util's namespace, whose getters load ~40 modules more (2.5 MiB on Node 24).
 */
function systemErrors(): Map<number, [string, string]> {
  return process.getBuiltinModule('node:util').getSystemErrorMap();
}

/** "ENETUNREACH" for 101; "E<number>" when the platform does not know it. */
export function errnoName(errno: number): string {
  return systemErrors().get(-Math.abs(errno))?.[0] ?? `E${errno}`;
}

export function errnoText(errno: number): string | undefined {
  return systemErrors().get(-Math.abs(errno))?.[1];
}

/** Errnos that mean "the object is not there" for deletes and lookups. */
export const NOT_FOUND_ERRNOS: ReadonlySet<number> = new Set([
  Errno.ENOENT,
  Errno.ESRCH,
  Errno.ENODEV,
  Errno.EADDRNOTAVAIL,
]);

/** The errno that ensure-style adds count as success. */
export const EXISTS: ReadonlySet<number> = new Set([Errno.EEXIST]);

/** Builds the typed error for a kernel answer: KernelNotFoundError for the not-found errnos (unless `notFound` says otherwise). */
export function kernelError(op: string, object: string, errno: number, opts: { notFound?: boolean } = {}): KernelError {
  const name = errnoName(errno);
  if (opts.notFound ?? NOT_FOUND_ERRNOS.has(errno)) return new KernelNotFoundError(op, object, errno, name, { detail: errnoText(errno) });
  return new KernelError(op, object, errno, name, { detail: errnoText(errno) });
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KernelNotFoundError || (err instanceof KernelError && NOT_FOUND_ERRNOS.has(err.errno));
}

export function isExists(err: unknown): boolean {
  return err instanceof KernelError && err.errno === Errno.EEXIST;
}
