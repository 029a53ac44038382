import { sleep } from '../async/abortable-sleep.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';

/**
 * Calls `pass` every `intervalSec` seconds until `signal` aborts; logs what each pass restored
 * (info) and what failed (error) and keeps going. Resolves on abort, never rejects.
 */
export async function runResyncLoop(
  pass: (signal: AbortSignal) => Promise<string[]>,
  opts: { intervalSec: number; signal: AbortSignal; logger: Logger; what: string; onPass?: (restored: number) => void },
): Promise<void> {
  const { signal, logger } = opts;
  const ms = Math.max(1, opts.intervalSec) * 1000;
  while (!signal.aborted) {
    try {
      await sleep(ms, signal);
    } catch {
      return;
    }
    try {
      const restored = await pass(signal);
      opts.onPass?.(restored.length);
      for (const r of restored) logger.info(`${opts.what} rules were missing or altered; restored ${r}`);
    } catch (err) {
      if (signal.aborted) return;
      logger.error(`failed to ensure ${opts.what} rules: ${errorMessage(err)}`);
    }
  }
}
