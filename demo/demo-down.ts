/**
 * `demo down`: tears down the demo recorded in the state file from any process. Asks the
 * owning process to stop (SIGTERM; it tears down itself), then removes whatever is left:
 * processes inside the run's namespaces, the namespaces, the harness marker, the temp dir.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { deleteNetns, listNetns, markerAlive, markerPath, netnsPids } from '../test/support/netns.js';
import { DETACHED_LOG, ownerAlive, readState, removeState, removeStateDir, type DemoState } from './demo-state.js';

/** How long the owning process gets to tear down before it is killed. */
const OWNER_GRACE_MS = 20_000;
const POLL_MS = 100;

export type Say = (msg: string) => void;

export async function demoDown(say: Say): Promise<void> {
  const state = await readState();
  if (!state) {
    say('no demo is recorded (no /run/flannel-ts-demo/state.json): nothing to tear down');
    return;
  }
  if (ownerAlive(state)) {
    say(`asking the demo process (pid ${state.pid}) to tear down`);
    const logStart = await fileSize(DETACHED_LOG);
    const stopped = await stopOwner(state.pid);
    // A detached demo's own account of its teardown.
    if (state.detached) process.stdout.write(await readFrom(DETACHED_LOG, logStart));
    if (!stopped) say(`pid ${state.pid} did not exit within ${OWNER_GRACE_MS / 1000} s; killed it`);
  } else {
    say(`the demo process (pid ${state.pid}) is gone; cleaning up after it`);
  }
  await cleanLeftovers(state, say);
  await removeState();
  await rm(DETACHED_LOG, { force: true });
  await removeStateDir();
  say('demo torn down');
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    return (await readFile(path)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** SIGTERM, wait (bounded), SIGKILL. True when it exited on SIGTERM. */
async function stopOwner(pid: number): Promise<boolean> {
  const startTime = (await readState())?.startTime;
  const alive = () => markerAlive({ pid, ...(startTime !== undefined ? { startTime } : {}) });
  signal(pid, 'SIGTERM');
  for (let waited = 0; waited < OWNER_GRACE_MS; waited += POLL_MS) {
    if (!alive()) return true;
    await delay(POLL_MS);
  }
  signal(pid, 'SIGKILL');
  for (let waited = 0; waited < 2000 && alive(); waited += POLL_MS) await delay(POLL_MS);
  return false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Removes what a demo run may have left: its processes, namespaces, marker and temp dir. */
export async function cleanLeftovers(state: DemoState, say: Say): Promise<void> {
  for (const p of state.processes ?? []) {
    if (markerAlive({ pid: p.pid, ...(p.startTime !== undefined ? { startTime: p.startTime } : {}) })) {
      say(`killing leftover ${p.what} (pid ${p.pid})`);
      signal(p.pid, 'SIGKILL');
    }
  }
  const prefix = state.prefix;
  if (prefix === undefined) return;
  const left = (await listNetns()).filter((ns) => ns.startsWith(prefix));
  // Hosts and etcd first, the underlay (holding the bridge) last.
  left.sort((a, b) => Number(a.endsWith('ul')) - Number(b.endsWith('ul')));
  for (const ns of left) {
    for (const pid of await netnsPids(ns)) signal(pid, 'SIGKILL');
    await deleteNetns(ns);
    say(`deleted leftover namespace ${ns}`);
  }
  await rm(markerPath(prefix), { force: true });
  if (state.tmpDir !== undefined && state.tmpDir.startsWith(join(tmpdir(), prefix))) {
    await rm(state.tmpDir, { recursive: true, force: true });
  }
  const still = (await listNetns()).filter((ns) => ns.startsWith(prefix));
  if (still.length > 0) throw new Error(`namespaces still present after teardown: ${still.join(', ')}`);
}
