/**
 * Giving the kernel back the agent's cold file pages. Of an idle agent's resident memory, most
 * is not its own data but pages of its executable (the Node.js runtime and its read-only data,
 * ~38 MiB of ~51 MiB for a vxlan agent) that were read while it started and are not touched
 * again. Once the agent is ready (lease held, data path programmed, subnet.env written) and again
 * every interval, the pages addon (native/pages) asks the kernel to reclaim the resident pages of
 * the agent's read-only file mappings (madvise MADV_PAGEOUT, as Android does for cached apps):
 * they are clean copies of the files, so reclaiming them frees the memory, and whatever the
 * agent still uses is read back on its next touch. It does not change what the agent does.
 *
 * FLANNEL_RELEASE_COLD_PAGES_SEC: seconds between releases after the first (default 600); 0 turns
 * it off. Anything else is a configuration error.
 */
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';

export const RELEASE_ENV = 'FLANNEL_RELEASE_COLD_PAGES_SEC';
export const DEFAULT_INTERVAL_SEC = 600;
/** After readiness, so that the first rounds of the watch and the renewal have run. */
export const SETTLE_MS = 2000;

export interface ReleaseResult {
  readonly advisedBytes: number;
  readonly mappings: number;
  readonly failed: number;
  /** The errno name of the first mapping the kernel refused (EINVAL: a kernel before 5.4). */
  readonly error?: string;
}

export interface PagesAddon {
  releaseColdPages(): ReleaseResult;
}

/** The interval in ms from the environment; 0 is off. */
export function releaseIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env[RELEASE_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_INTERVAL_SEC * 1000;
  const sec = Number(raw);
  if (!Number.isInteger(sec) || sec < 0 || sec > 86_400) {
    throw new ConfigError(RELEASE_ENV, raw, 'must be a whole number of seconds from 0 (off) to 86400');
  }
  return sec * 1000;
}

export interface ColdPageReleaseOptions {
  readonly intervalMs: number;
  /** The addon, loaded on the first release. */
  readonly load: () => Promise<PagesAddon>;
  readonly logger: Logger;
  /** Resident set size in bytes (process.memoryUsage.rss). */
  readonly rss?: () => number;
  readonly settleMs?: number;
}

function isPagesAddon(x: unknown): x is PagesAddon {
  return typeof x === 'object' && x !== null && typeof (x as { releaseColdPages?: unknown }).releaseColdPages === 'function';
}

/** The addon of this build: dist/native/pages.node, or the executable's SEA asset. */
export async function loadPagesAddon(): Promise<PagesAddon> {
  const addon = (await import('./pages-native.js')).loadPagesNative();
  if (!isPagesAddon(addon)) throw new TypeError('the pages addon has no releaseColdPages()');
  return addon;
}

const MiB = (bytes: number) => (bytes / 1048576).toFixed(1);

/**
 * Releases cold pages SETTLE_MS after the first ready() and then every interval until the
 * signal aborts. Never throws: an addon that cannot be loaded or a kernel that refuses is
 * logged once and the release stops.
 */
export class ColdPageRelease {
  private started = false;
  private stopped = false;
  private addon: PagesAddon | undefined;
  private timer: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(
    private readonly opts: ColdPageReleaseOptions,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** How many releases have run. */
  get releases(): number {
    return this.count;
  }

  /** The agent is ready: the first release follows after the settle time (once per process). */
  ready(): void {
    if (this.started || this.stopped || this.opts.intervalMs === 0 || this.signal.aborted) return;
    this.started = true;
    this.schedule(this.opts.settleMs ?? SETTLE_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One release now; false when releasing is off for good. */
  async releaseNow(): Promise<boolean> {
    const log = this.opts.logger;
    try {
      this.addon ??= await this.opts.load();
    } catch (err) {
      log.warn(`cannot load the pages addon (${errorMessage(err)}): cold pages are not released`);
      this.stop();
      return false;
    }
    const rss = this.opts.rss ?? (() => process.memoryUsage.rss());
    const before = rss();
    let r: ReleaseResult;
    try {
      r = this.addon.releaseColdPages();
    } catch (err) {
      log.warn(`releasing cold pages failed (${errorMessage(err)}): not tried again`);
      this.stop();
      return false;
    }
    this.count++;
    if (r.mappings === 0 && r.failed > 0) {
      log.warn(`the kernel does not release pages on request (madvise: ${r.error ?? '?'}; needs Linux 5.4+): not tried again`);
      this.stop();
      return false;
    }
    const line = `released cold pages: resident ${MiB(before)} -> ${MiB(rss())} MiB (${r.mappings} file mappings${r.failed > 0 ? `, ${r.failed} refused: ${r.error ?? '?'}` : ''})`;
    if (this.count === 1) log.info(line);
    else log.v(2).info(line);
    return true;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.releaseNow().then((again) => {
        if (again) this.schedule(this.opts.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }
}
