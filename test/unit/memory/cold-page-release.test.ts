/**
 * When the agent releases its cold pages: after readiness and the settle time, then every
 * interval; never when turned off; an addon that cannot load or a kernel that refuses stops it
 * with one warning; a bad FLANNEL_RELEASE_COLD_PAGES_SEC is a configuration error naming it.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log/logger.js';
import { ColdPageRelease, DEFAULT_INTERVAL_SEC, RELEASE_ENV, releaseIntervalMs, type PagesAddon, type ReleaseResult } from '../../../src/memory/cold-page-release.js';

function rig(result: () => ReleaseResult, opts: { intervalMs?: number; load?: () => Promise<PagesAddon> } = {}) {
  const lines: string[] = [];
  const calls: number[] = [];
  const addon: PagesAddon = { releaseColdPages: () => (calls.push(Date.now()), result()) };
  const ac = new AbortController();
  let rss = 50 << 20;
  const release = new ColdPageRelease(
    {
      intervalMs: opts.intervalMs ?? 60_000,
      load: opts.load ?? (() => Promise.resolve(addon)),
      logger: createLogger({ verbosity: 0, sink: { write: (l) => lines.push(l) } }),
      rss: () => (rss -= 10 << 20),
      settleMs: 2000,
    },
    ac.signal,
  );
  return { release, lines, calls, ac };
}

/** Lets the release's promise chain run after a timer fired. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

const OK: ReleaseResult = { advisedBytes: 100 << 20, mappings: 12, failed: 0 };

describe('cold page release', () => {
  it('reads the interval from FLANNEL_RELEASE_COLD_PAGES_SEC: default, 0 (off), whole seconds', () => {
    assert.equal(releaseIntervalMs({}), DEFAULT_INTERVAL_SEC * 1000);
    assert.equal(releaseIntervalMs({ [RELEASE_ENV]: '' }), DEFAULT_INTERVAL_SEC * 1000);
    assert.equal(releaseIntervalMs({ [RELEASE_ENV]: '0' }), 0);
    assert.equal(releaseIntervalMs({ [RELEASE_ENV]: '30' }), 30_000);
    for (const bad of ['soon', '-1', '1.5', '86401', 'Infinity', '0x10 apples']) {
      assert.throws(
        () => releaseIntervalMs({ [RELEASE_ENV]: bad }),
        (err: unknown) => err instanceof ConfigError && err.field === RELEASE_ENV && err.value === bad && err.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
  });

  it('releases once the settle time after ready, then every interval, and stops on abort', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const { release, lines, calls, ac } = rig(() => OK);
      mock.timers.tick(10_000);
      await settle();
      assert.equal(calls.length, 0, 'nothing before ready');
      release.ready();
      release.ready();
      mock.timers.tick(1999);
      await settle();
      assert.equal(calls.length, 0, 'not before the settle time');
      mock.timers.tick(1);
      await settle();
      assert.equal(calls.length, 1);
      assert.match(lines.join(''), /released cold pages: resident 40\.0 -> 30\.0 MiB \(12 file mappings\)/);
      mock.timers.tick(60_000);
      await settle();
      assert.equal(calls.length, 2, 'again after the interval (a second ready() did not add a schedule)');
      assert.equal(lines.length, 1, 'later releases log at -v 2 only');
      ac.abort();
      mock.timers.tick(600_000);
      await settle();
      assert.equal(calls.length, 2);
    } finally {
      mock.timers.reset();
    }
  });

  it('does nothing when turned off', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { release, calls } = rig(() => OK, { intervalMs: 0 });
      release.ready();
      mock.timers.tick(3_600_000);
      await settle();
      assert.equal(calls.length, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('stops with one warning when the addon cannot be loaded', async () => {
    const { release, lines } = rig(() => OK, { load: () => Promise.reject(new Error('pages.node: cannot open shared object file')) });
    assert.equal(await release.releaseNow(), false);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^W.*cannot load the pages addon \(pages\.node: cannot open shared object file\): cold pages are not released/);
  });

  it('stops with one warning when the kernel refuses every mapping (a kernel before 5.4)', async () => {
    const { release, lines } = rig(() => ({ advisedBytes: 0, mappings: 0, failed: 9, error: 'EINVAL' }));
    assert.equal(await release.releaseNow(), false);
    assert.match(lines.join(''), /does not release pages on request \(madvise: EINVAL; needs Linux 5\.4\+\)/);
  });

  it('keeps going and says so when the kernel refuses some mappings', async () => {
    const { release, lines } = rig(() => ({ advisedBytes: 1 << 20, mappings: 3, failed: 1, error: 'EPERM' }));
    assert.equal(await release.releaseNow(), true);
    assert.match(lines.join(''), /3 file mappings, 1 refused: EPERM/);
  });
});
