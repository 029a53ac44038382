/**
 * The CNI_* environment of one plugin run, validated for its verb as libcni's skel does:
 * missing or malformed variables are error 4 (invalid environment variables).
 */
import { CniError } from '../errors.js';
import { CniCode, MAX_CONTAINER_ID_LENGTH, VERBS, interfaceNameProblem, isContainerIdSyntax, type Verb } from './cni-spec.js';

export interface CniEnv {
  readonly command: Verb;
  /** CNI_CONTAINERID; '' for VERSION, STATUS and GC. */
  readonly containerId: string;
  /** CNI_NETNS; '' when not given (allowed for DEL). */
  readonly netns: string;
  /** CNI_IFNAME; '' for VERSION, STATUS and GC. */
  readonly ifName: string;
  /** CNI_ARGS, passed on to delegates untouched. */
  readonly args: string;
  /** CNI_PATH split on ':', empty entries dropped. */
  readonly path: readonly string[];
}

/** Which variables each verb needs (CNI_PATH only where a delegate may run). */
const REQUIRED: Readonly<Record<Verb, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  VERSION: [],
  STATUS: ['CNI_PATH'],
  GC: ['CNI_PATH'],
};

/** The verb of CNI_COMMAND; error 4 when missing or unknown. */
export function parseCommand(env: NodeJS.ProcessEnv): Verb {
  const cmd = env.CNI_COMMAND ?? '';
  if (cmd === '') throw new CniError(CniCode.INVALID_ENVIRONMENT, 'required environment variable CNI_COMMAND is missing');
  if (!(VERBS as readonly string[]).includes(cmd)) {
    throw new CniError(CniCode.INVALID_ENVIRONMENT, `CNI_COMMAND=${JSON.stringify(cmd)}: unknown command (known: ${VERBS.join(', ')})`);
  }
  return cmd as Verb;
}

/** Reads and validates the CNI_* variables `command` needs. */
export function parseCniEnv(env: NodeJS.ProcessEnv, command: Verb): CniEnv {
  const missing = REQUIRED[command].filter((k) => (env[k] ?? '') === '');
  if (missing.length > 0) {
    throw new CniError(CniCode.INVALID_ENVIRONMENT, `required environment variables missing for ${command}: ${missing.join(', ')}`);
  }
  const out: CniEnv = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifName: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
  if (REQUIRED[command].includes('CNI_CONTAINERID')) checkContainerId(out.containerId);
  if (REQUIRED[command].includes('CNI_IFNAME')) {
    const problem = interfaceNameProblem(out.ifName);
    if (problem) throw new CniError(CniCode.INVALID_ENVIRONMENT, `CNI_IFNAME=${JSON.stringify(out.ifName)}: ${problem}`);
  }
  return out;
}

/**
 * Error 4 unless `id` follows the spec's container ID rule. The rule also keeps the ID a plain
 * file name inside dataDir: no '/', and no leading '.' (so neither '..' nor a hidden temp file).
 */
export function checkContainerId(id: string): void {
  if (!isContainerIdSyntax(id) || id.length > MAX_CONTAINER_ID_LENGTH) {
    throw new CniError(
      CniCode.INVALID_ENVIRONMENT,
      `CNI_CONTAINERID=${JSON.stringify(id.slice(0, 300))}: invalid container ID`,
      { details: `want an alphanumeric first character followed by alphanumerics, '_', '.' or '-', at most ${MAX_CONTAINER_ID_LENGTH} characters` },
    );
  }
}
