/**
 * The node watch's silence deadline with its default settings (5 s of silence, then a renewed
 * watch with 3 s for its head), on mock timers: a silent stream whose renewal gets no answer is
 * given up within 10 s; a stream that speaks costs no renewal; a renewal that is answered
 * restarts the silence count (one renewal per 5 s of silence); a learnt bookmark cadence gives
 * up a stalled stream. And FLANNEL_KUBE_WATCH_PROBE_SEC / _TIMEOUT_SEC.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ConfigError } from '../../../../src/errors.js';
import {
  BookmarkCadence,
  DEFAULT_WATCH_PROBE_AFTER_MS,
  DEFAULT_WATCH_PROBE_TIMEOUT_MS,
  WatchSilenceProbe,
  watchProbeFromEnv,
} from '../../../../src/subnet/kube/watch-silence-probe.js';

/** A renewal that switches at once (a server that answers) or hangs until its deadline aborts it. */
function fakeApi(answers: () => boolean) {
  const api = {
    probes: [] as number[],
    renew: (signal: AbortSignal): Promise<void> => {
      api.probes.push(Date.now());
      if (answers()) return Promise.resolve();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    },
  };
  return api;
}

/** Moves the mock clock in steps of `step` ms, letting promise callbacks run in between. */
async function advance(ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(Math.min(step, ms - t));
    for (let k = 0; k < 5; k++) await Promise.resolve();
  }
}

describe('watch silence probe (defaults, mock timers)', () => {
  let ac: AbortController;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    ac = new AbortController();
  });
  afterEach(() => {
    ac.abort();
    mock.timers.reset();
  });

  const start = (api: ReturnType<typeof fakeApi>, cadence = new BookmarkCadence()) => {
    const abandoned: { at: number; why: string }[] = [];
    const probe = new WatchSilenceProbe({
      renew: api.renew,
      signal: ac.signal,
      afterMs: DEFAULT_WATCH_PROBE_AFTER_MS,
      timeoutMs: DEFAULT_WATCH_PROBE_TIMEOUT_MS,
      cadence,
      abandon: (why) => abandoned.push({ at: Date.now(), why }),
    });
    return { probe, abandoned };
  };

  it('gives up a silent stream whose renewal gets no answer within 10 s of its last word (5 s + 3 s)', async () => {
    const api = fakeApi(() => false);
    const t0 = Date.now();
    const { probe, abandoned } = start(api);
    await advance(2_000);
    probe.heard(false); // the last event before the connection goes quiet
    const quietFrom = Date.now();
    await advance(7_900);
    assert.equal(abandoned.length, 0, 'not before the probe deadline');
    assert.deepEqual(api.probes, [quietFrom + 5_000], 'one renewal, 5 s after the last event');
    await advance(200);
    assert.equal(abandoned.length, 1);
    const took = abandoned[0]!.at - quietFrom;
    assert.equal(took, 8_000);
    assert.ok(took <= 10_000);
    assert.match(abandoned[0]!.why, /did not answer a renewed watch within 3000 ms/);
    await advance(30_000);
    assert.equal(abandoned.length, 1, 'given up once');
    assert.equal(api.probes.length, 1, 'no renewal after giving up');
    assert.ok(t0 > 0);
  });

  it('sends no renewal while events flow (one a second for two minutes), then one 5 s into the silence', async () => {
    const api = fakeApi(() => true);
    const { probe, abandoned } = start(api);
    for (let s = 0; s < 120; s++) {
      await advance(1_000, 250);
      probe.heard(false);
    }
    assert.equal(api.probes.length, 0, 'no renewal while the stream speaks');
    const quietFrom = Date.now();
    await advance(5_000);
    assert.deepEqual(api.probes, [quietFrom + 5_000]);
    assert.equal(abandoned.length, 0);
  });

  it('keeps renewing a silent stream while the server answers: one renewal per 5 s of silence', async () => {
    const api = fakeApi(() => true);
    const { abandoned } = start(api);
    await advance(60_000, 500);
    assert.equal(api.probes.length, 12);
    assert.equal(abandoned.length, 0);
  });

  it('learns the bookmark cadence and gives up a stream silent for three intervals, before its renewal is due', async () => {
    const api = fakeApi(() => true);
    const cadence = new BookmarkCadence();
    const { probe, abandoned } = start(api, cadence);
    for (let k = 0; k < 3; k++) {
      await advance(1_000, 250);
      probe.heard(true);
    }
    assert.equal(cadence.ms, 1_000);
    const quietFrom = Date.now();
    await advance(2_900);
    assert.equal(abandoned.length, 0);
    await advance(200);
    assert.equal(abandoned.length, 1);
    // 3 intervals (3 s), but never less than the probe deadline (3 s): given up at 3 s.
    assert.equal(abandoned[0]!.at - quietFrom, 3_000);
    assert.match(abandoned[0]!.why, /no event or bookmark for 3000 ms/);
  });

  it('a re-opened stream is guarded by the learnt cadence from its first moment', async () => {
    const cadence = new BookmarkCadence();
    cadence.add(1_500);
    const { abandoned } = start(fakeApi(() => true), cadence);
    await advance(4_400);
    assert.equal(abandoned.length, 0);
    await advance(200);
    assert.equal(abandoned.length, 1, 'three intervals (4.5 s) after it opened');
  });
});

describe('bookmark cadence', () => {
  it('is unknown until a gap is seen (two bookmarks), then the largest of the last three', () => {
    const c = new BookmarkCadence();
    assert.equal(c.ms, 0);
    c.add(60_000);
    assert.equal(c.ms, 60_000);
    c.add(1_500); // a server's bookmark just before the watch's timeout, soon after the periodic one
    assert.equal(c.ms, 60_000, 'an odd short gap does not shrink it');
    c.add(60_000);
    c.add(60_000);
    c.add(60_000);
    assert.equal(c.ms, 60_000);
    c.add(1_000);
    c.add(1_000);
    c.add(1_000);
    assert.equal(c.ms, 1_000, 'a server that now sends them faster');
  });
});

describe('FLANNEL_KUBE_WATCH_PROBE_SEC / _TIMEOUT_SEC', () => {
  it('unset or empty: the defaults', () => {
    assert.deepEqual(watchProbeFromEnv({}), {});
    assert.deepEqual(watchProbeFromEnv({ FLANNEL_KUBE_WATCH_PROBE_SEC: '', FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC: ' ' }), {});
  });

  it('seconds, fractions allowed', () => {
    assert.deepEqual(watchProbeFromEnv({ FLANNEL_KUBE_WATCH_PROBE_SEC: '30', FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC: '1.5' }), {
      watchProbeAfterMs: 30_000,
      watchProbeTimeoutMs: 1_500,
    });
    assert.deepEqual(watchProbeFromEnv({ FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC: '10' }), { watchProbeTimeoutMs: 10_000 });
  });

  for (const [name, value] of [
    ['FLANNEL_KUBE_WATCH_PROBE_SEC', '0'],
    ['FLANNEL_KUBE_WATCH_PROBE_SEC', '-1'],
    ['FLANNEL_KUBE_WATCH_PROBE_SEC', '5s'],
    ['FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC', 'NaN'],
    ['FLANNEL_KUBE_WATCH_PROBE_TIMEOUT_SEC', '3601'],
  ] as const) {
    it(`${name}=${value}: a ConfigError naming the variable and the value`, () => {
      assert.throws(
        () => watchProbeFromEnv({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name) && err.message.includes(value),
      );
    });
  }
});
