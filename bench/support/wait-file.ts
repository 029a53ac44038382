/**
 * Waits for a file to be written and says when: fs.watch on its directory catches the rename
 * of an atomic write the moment it happens; a bounded poll is the fallback for missed events.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HarnessError } from '../../test/support/errors.js';

export interface FileWritten {
  /** performance.now() when the file was first seen complete. */
  readonly at: number;
  /** How it was seen. */
  readonly via: 'watch' | 'poll';
  readonly text: string;
}

export interface FileWaiter {
  /** Resolves when the file exists and `accept(text)` holds. */
  readonly written: Promise<FileWritten>;
  /** Stops watching (idempotent). */
  close(): void;
}

export interface WatchFileOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Is this content the write we wait for? Default: non-empty. */
  readonly accept?: (text: string) => boolean;
  /** Poll interval of the fallback (default 25 ms). */
  readonly pollMs?: number;
  /** Checked on every poll; a string fails the wait with that reason (e.g. "agent exited"). */
  readonly failIf?: () => string | undefined;
}

/** Starts watching now (call before spawning the writer), resolves when the file is written. */
export function watchForFile(path: string, opts: WatchFileOptions): FileWaiter {
  const accept = opts.accept ?? ((t: string) => t.length > 0);
  const name = basename(path);
  const h: { watcher?: FSWatcher; timer?: NodeJS.Timeout; deadline?: NodeJS.Timeout } = {};
  let done = false;
  const close = () => {
    done = true;
    h.watcher?.close();
    clearInterval(h.timer);
    clearTimeout(h.deadline);
    opts.signal.removeEventListener('abort', onAbort);
  };
  let settle: { resolve: (v: FileWritten) => void; reject: (e: unknown) => void } | undefined;
  const written = new Promise<FileWritten>((resolve, reject) => (settle = { resolve, reject }));
  const fail = (err: unknown) => {
    if (done) return;
    close();
    settle?.reject(err);
  };
  const onAbort = () => fail(opts.signal.reason);
  const check = async (at: number, via: FileWritten['via']) => {
    if (done) return;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    if (done || !accept(text)) return;
    close();
    settle?.resolve({ at, via, text });
  };
  if (opts.signal.aborted) {
    fail(opts.signal.reason);
    return { written, close };
  }
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    h.watcher = watch(dirname(path), (_event, file) => {
      if (file === name) void check(performance.now(), 'watch');
    });
    h.watcher.on('error', () => h.watcher?.close());
  } catch {
    // the poll below still works
  }
  h.timer = setInterval(() => {
    const why = opts.failIf?.();
    if (why !== undefined) fail(new HarnessError(`waiting for ${path}: ${why}`));
    else void check(performance.now(), 'poll');
  }, opts.pollMs ?? 25);
  h.deadline = setTimeout(() => fail(new HarnessError(`${path} not written within ${opts.timeoutMs} ms`)), opts.timeoutMs);
  return { written, close };
}
