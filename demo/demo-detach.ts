/**
 * `demo up --detach`: runs the demo in a background supervisor process (its own session, so
 * the terminal's Ctrl-C and hang-up do not reach it), shows its output until the demo is up,
 * then returns. The supervisor owns the cluster until `demo down` sends it SIGTERM.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Say } from './demo-down.js';
import { checkNoDemo, type UpOptions } from './demo-up.js';
import { DETACHED_LOG, STATE_DIR, readState, removeStateDir } from './demo-state.js';

const DEMO_SCRIPT = fileURLToPath(new URL('./demo.js', import.meta.url));
/** Bound on bring-up as seen from here (the supervisor has its own bounds). */
const BRING_UP_TIMEOUT_MS = 90_000;
/** Bound on the supervisor's teardown when the bring-up is interrupted. */
const TEARDOWN_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

export async function demoUpDetached(opts: UpOptions, say: Say, signal: AbortSignal): Promise<number> {
  if (!(await checkNoDemo(say))) return 1;
  await mkdir(STATE_DIR, { recursive: true });
  const fd = openSync(DETACHED_LOG, 'w');
  let child;
  try {
    child = spawn(process.execPath, [DEMO_SCRIPT, 'up', '--supervise', `--backend=${opts.backend}`], { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    say(`could not start the background demo process (${process.execPath} ${DEMO_SCRIPT})`);
    return 1;
  }
  let exitCode: number | null = null;
  child.on('exit', (code, sig) => (exitCode = code ?? (sig ? 128 : 1)));
  child.unref();
  say(`background demo process started (pid ${pid}); its output, also in ${DETACHED_LOG}:`);

  const tail = await logTail();
  try {
    const deadline = Date.now() + BRING_UP_TIMEOUT_MS;
    let stopDeadline: number | undefined;
    while (true) {
      await tail.flush();
      if (exitCode !== null) {
        say(stopDeadline !== undefined ? 'the background demo has torn down' : `the background demo exited with code ${exitCode} before it was up`);
        await rm(DETACHED_LOG, { force: true });
        await removeStateDir();
        return 1;
      }
      const state = await readState();
      if (stopDeadline === undefined && !signal.aborted && state?.pid === pid && state.status === 'ready') {
        say(`demo is up and detached (pid ${pid})`);
        return 0;
      }
      if (stopDeadline === undefined && (signal.aborted || Date.now() > deadline)) {
        say(signal.aborted ? 'interrupted: stopping the background demo' : `not up within ${BRING_UP_TIMEOUT_MS / 1000} s: stopping the background demo`);
        process.kill(pid, 'SIGTERM');
        stopDeadline = Date.now() + TEARDOWN_TIMEOUT_MS;
      }
      if (stopDeadline !== undefined && Date.now() > stopDeadline) {
        say(`the background demo (pid ${pid}) did not finish tearing down; run: sudo ./scripts/demo.sh down`);
        return 1;
      }
      await delay(POLL_MS);
    }
  } finally {
    await tail.close();
  }
}

/** Copies what the supervisor appends to its log to our stdout. */
async function logTail(): Promise<{ flush(): Promise<void>; close(): Promise<void> }> {
  const fh = await open(DETACHED_LOG, 'r');
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  return {
    async flush() {
      // Bounded: at most 64 reads (4 MiB) per flush.
      for (let i = 0; i < 64; i++) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) return;
        offset += bytesRead;
        process.stdout.write(buf.subarray(0, bytesRead));
      }
    },
    close: () => fh.close(),
  };
}
