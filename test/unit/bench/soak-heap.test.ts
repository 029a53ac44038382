/** The soak's heap check: full GCs read from an agent's --trace-gc log, and the thresholds of the heap and anonymous RSS fits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GC_TRACE_FLAGS, committedAt, parseFullGcs, parseGcs, withGcTraceFlags } from '../../../bench/soak/gc-trace.js';
import { heapThresholdMiBPerHour, rssThresholdMiBPerHour, slopePerHour } from '../../../bench/soak/rss-slope.js';

// Lines as Node 24 prints them between the agent's own log lines.
const LOG = [
  'I1203 23:12:13.101234   26170 main.go:1] starting flanneld',
  '[26170:0x15b18000]   106468 ms: Mark-Compact 11.9 (13.6) -> 9.4 (13.3) MB, pooled: 1 MB, 5.62 / 0.00 ms  (+ 6.8 ms in 43 steps since start of marking, biggest step 4.1 ms, walltime since start of marking 19 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task; GC in old space requested',
  '[26170:0x15b18000]   155272 ms: Mark-Compact (reduce) 10.4 (14.3) -> 9.2 (11.8) MB, pooled: 0 MB, 130.75 / 0.00 ms  (average mu = 0.999, current mu = 0.999) finalize incremental marking via task; GC in old space requested',
  '[26170:0x15b18000]   155300 ms: Scavenge 10.0 (12.0) -> 9.5 (12.0) MB, pooled: 0 MB, 1.10 / 0.00 ms  (average mu = 0.999, current mu = 0.999) allocation failure;',
  'W1203 23:14:00.000000   26170 watch.go:1] Mark-Compact 1.0 (2.0) -> 0.5 (1.0) MB in a message is not a trace line',
].join('\n');

describe('soak GC trace', () => {
  it('reads every mark-compact (with or without "(reduce)"): time, heap used and committed after', () => {
    assert.deepEqual(parseFullGcs(LOG), [
      { ms: 106468, usedAfterMiB: 9.4, committedAfterMiB: 13.3 },
      { ms: 155272, usedAfterMiB: 9.2, committedAfterMiB: 11.8 },
    ]);
    assert.deepEqual(parseFullGcs(''), []);
  });
  it('reads young collections too (committed size between full GCs), marked not full', () => {
    const all = parseGcs(LOG);
    assert.deepEqual(all.map((g) => [g.ms, g.full, g.committedAfterMiB]), [[106468, true, 13.3], [155272, true, 11.8], [155300, false, 12]]);
  });
  it('committedAt: the committed size after the last collection at or before t, NaN when none is recent', () => {
    const gcs = [{ t: 10, committedAfterMiB: 12 }, { t: 20, committedAfterMiB: 13 }, { t: 40, committedAfterMiB: 17 }];
    assert.equal(committedAt(gcs, 20, 15), 13);
    assert.equal(committedAt(gcs, 34, 15), 13);
    assert.equal(committedAt(gcs, 36, 15), NaN);
    assert.equal(committedAt(gcs, 41, 15), 17);
    assert.equal(committedAt(gcs, 5, 15), NaN);
    assert.equal(committedAt([], 5, 15), NaN);
  });
  it('puts the trace flags before the caller\'s BENCH_AGENT_NODE_FLAGS, so those win', () => {
    assert.equal(withGcTraceFlags(undefined), GC_TRACE_FLAGS.join(' '));
    assert.equal(withGcTraceFlags('  --cpu-prof '), `${GC_TRACE_FLAGS.join(' ')} --cpu-prof`);
    assert.equal(withGcTraceFlags('none'), GC_TRACE_FLAGS.join(' '));
  });
});

describe('soak memory thresholds', () => {
  it('heap: 1 MiB/h floor, 1.5 MiB over shorter windows; under half the RSS one', () => {
    assert.equal(heapThresholdMiBPerHour(3 * 3600), 1);
    assert.equal(heapThresholdMiBPerHour(1800), 3);
    assert.equal(heapThresholdMiBPerHour(0), Infinity);
    assert.ok(heapThresholdMiBPerHour(1140) < rssThresholdMiBPerHour(1140) / 2);
  });
  it('a leak of 300 bytes per lease event at the soak\'s rate fails a 30-minute heap check; a flat noisy heap passes', () => {
    const events = 15_000 / 3600; // per second
    const leaking = Array.from({ length: 15 }, (_, k) => ({ t: 60 + k * 120, mib: 9.2 + (k * 120 * events * 300) / 2 ** 20 + (k % 2) * 0.4 }));
    assert.ok(slopePerHour(leaking, (g) => g.mib) > heapThresholdMiBPerHour(1680));
    const flat = leaking.map((g, k) => ({ t: g.t, mib: 9.2 + (k % 3) * 0.4 }));
    assert.ok(slopePerHour(flat, (g) => g.mib) < heapThresholdMiBPerHour(1680));
  });
});
