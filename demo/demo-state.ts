/**
 * The demo's state file, /run/flannel-ts-demo/state.json: which process runs the demo and what
 * it created (run prefix, namespaces, temp dir, pids), so `down` from another process can tear
 * it all down, even after that process died.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { markerAlive } from '../test/support/netns.js';

export const STATE_DIR = '/run/flannel-ts-demo';
export const STATE_FILE = join(STATE_DIR, 'state.json');
/** Output of a detached demo's supervisor process. */
export const DETACHED_LOG = join(STATE_DIR, 'demo.log');

export interface DemoHost {
  readonly host: number;
  readonly ns: string;
  readonly publicIP: string;
  readonly subnet: string;
  readonly mtu: string;
  readonly subnetFile: string;
  readonly logFile: string;
}

export interface DemoState {
  /** The process that owns the cluster (the foreground demo, or the detached supervisor). */
  readonly pid: number;
  /** Its start time (clock ticks since boot), against pid reuse. */
  readonly startTime: number | undefined;
  readonly detached: boolean;
  readonly backend: string;
  status: 'starting' | 'ready' | 'failed' | 'stopping';
  prefix?: string;
  tmpDir?: string;
  namespaces?: string[];
  /** Agents' and etcd's pids with their start times. */
  processes?: { pid: number; startTime: number | undefined; what: string }[];
  hosts?: DemoHost[];
  error?: string;
}

export async function readState(): Promise<DemoState | undefined> {
  let text: string;
  try {
    text = await readFile(STATE_FILE, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as DemoState;
    return typeof s.pid === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the state atomically (temp file + rename). */
export async function writeState(state: DemoState): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, STATE_FILE);
}

export async function removeState(): Promise<void> {
  await rm(STATE_FILE, { force: true });
}

/** Removes the state directory when it is empty (nothing else of the demo is left). */
export async function removeStateDir(): Promise<void> {
  await rmdir(STATE_DIR).catch(() => {});
}

/** True when the process recorded as owning the demo still runs. */
export function ownerAlive(state: Pick<DemoState, 'pid' | 'startTime'>): boolean {
  return markerAlive({ pid: state.pid, ...(state.startTime !== undefined ? { startTime: state.startTime } : {}) });
}
