/**
 * Facts of the CNI specification the plugin needs: the spec versions it speaks, which verbs
 * each version has, and the well-known error codes.
 */

/** Every spec version flannel's own plugin accepts (libcni's version.All), plus 1.1.0. */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** The version of the VERSION answer and of errors raised before a config was read. */
export const CURRENT_VERSION = '1.1.0';
/** A config without cniVersion is a 0.1.0 config (as libcni decodes it). */
export const IMPLICIT_VERSION = '0.1.0';

export const CniCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODING_FAILURE: 6,
  INVALID_NETWORK_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  NOT_AVAILABLE_LIMITED: 51,
  /** Plugin-specific: a delegate failed without a CNI error of its own (crash, garbage output, timeout). */
  DELEGATE_FAILED: 100,
  /** Plugin-specific: CHECK found the pod's network not as ADD left it. */
  CHECK_FAILED: 101,
  /** An unexpected failure of the plugin itself (libcni's ErrInternal). */
  INTERNAL: 999,
} as const;

export type Verb = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
export const VERBS: readonly Verb[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

/** The first spec version with each verb (ADD, DEL and VERSION are in all of them). */
export const VERB_SINCE: Readonly<Record<Verb, string>> = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  VERSION: '0.1.0',
  CHECK: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

/** Compares two "x.y.z" versions; NaN parts (non-numeric) compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/**
 * The spec's rule for container IDs: not empty, an alphanumeric first character, then
 * alphanumerics, '_', '.' or '-'. It also keeps the ID a plain file name (no '/', not '..').
 */
export const CONTAINER_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * CONTAINER_ID_PATTERN.test(id), read character by character: ADD and DEL check their ID two or
 * three times, and V8 compiles a regex to machine code on its second run (~0.2 ms of a run).
 */
export function isContainerIdSyntax(id: string): boolean {
  if (id === '') return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && (i === 0 || (c !== 95 /* _ */ && c !== 46 /* . */ && c !== 45) /* - */)) return false;
  }
  return true;
}
/** Longest file name Linux accepts; a longer container ID cannot name a state file. */
export const MAX_CONTAINER_ID_LENGTH = 255;

/** The spec's rule for CNI_IFNAME: not empty, not "." or "..", under 16 bytes, no '/', ':' or whitespace. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return 'is "." or ".."';
  if (Buffer.byteLength(name) > 15) return 'is longer than 15 bytes';
  if (/[/:\s]/.test(name)) return "contains '/', ':' or whitespace";
  return undefined;
}
