/** The soak's pure parts: its options, its plan, the RSS slope and threshold, drift lines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { compare, wantedLines, type StoreLease } from '../../../bench/soak/kernel-drift.js';
import { rssThresholdMiBPerHour, slopeMiBPerHour } from '../../../bench/soak/rss-slope.js';
import { parseSoakOptions } from '../../../bench/soak/soak-options.js';
import { planSoak } from '../../../bench/soak/soak-run.js';

describe('soak options', () => {
  it('defaults to 30 minutes, takes -minutes N, -minutes=N, --minutes and SOAK_MINUTES', () => {
    assert.equal(parseSoakOptions([], {}).minutes, 30);
    assert.equal(parseSoakOptions(['-minutes', '5'], {}).minutes, 5);
    assert.equal(parseSoakOptions(['--minutes=2.5'], {}).minutes, 2.5);
    assert.equal(parseSoakOptions([], { SOAK_MINUTES: '7' }).minutes, 7);
    assert.equal(parseSoakOptions(['-minutes', '3'], { SOAK_MINUTES: '7' }).minutes, 3);
  });
  it('refuses bad values and unknown arguments, naming them', () => {
    assert.throws(() => parseSoakOptions(['-minutes', '0'], {}), (e) => e instanceof UsageError && /-minutes="0"/.test(e.message));
    assert.throws(() => parseSoakOptions(['-minutes', 'abc'], {}), UsageError);
    assert.throws(() => parseSoakOptions(['-minutes'], {}), /missing value/);
    assert.throws(() => parseSoakOptions([], { SOAK_MINUTES: '' }), /SOAK_MINUTES/);
    assert.throws(() => parseSoakOptions(['-hours', '1'], {}), /unknown argument "-hours"/);
  });
});

describe('soak plan', () => {
  it('checks every 60 s for long runs, every run/5 for short ones; restarts etcd twice', () => {
    assert.deepEqual(planSoak(30), { totalMs: 1_800_000, intervalMs: 60_000, cycles: 30, settleBudgetMs: 36_000, restartCycles: [11, 21] });
    const p5 = planSoak(5);
    assert.equal(p5.cycles, 5);
    assert.deepEqual(p5.restartCycles, [2, 4]);
    const p1 = planSoak(1);
    assert.equal(p1.intervalMs, 12_000);
    assert.equal(p1.cycles, 5);
  });
});

describe('RSS slope', () => {
  it('fits MiB per hour by least squares', () => {
    const line = Array.from({ length: 10 }, (_, k) => ({ t: k * 60, rssMiB: 50 + k * 0.5 }));
    assert.ok(Math.abs(slopeMiBPerHour(line) - 30) < 1e-9);
    assert.equal(slopeMiBPerHour([{ t: 0, rssMiB: 1 }]), NaN);
    const flatNoisy = Array.from({ length: 20 }, (_, k) => ({ t: k * 10, rssMiB: 60 + (k % 2) * 2 }));
    assert.ok(Math.abs(slopeMiBPerHour(flatNoisy)) < 50);
  });
  it('threshold: 10 MiB/h floor, looser for short windows', () => {
    assert.equal(rssThresholdMiBPerHour(3600), 10);
    assert.equal(rssThresholdMiBPerHour(240), 60);
    assert.equal(rssThresholdMiBPerHour(0), Infinity);
  });
});

describe('drift', () => {
  const leases: StoreLease[] = [
    { net: '10.0.1.0', prefixLength: 24, publicIP: '192.168.100.1', mac: '0a:fe:00:00:00:01' },
    { net: '10.1.5.0', prefixLength: 24, publicIP: '192.168.77.11', mac: '0a:11:22:33:44:55' },
  ];
  it('wants route, neighbour and fdb of every lease but the own one; counts missing and extra', () => {
    const want = wantedLines(leases, '10.1.5.0');
    assert.deepEqual([...want.routes], ['10.0.1.0/24 via 10.0.1.0 dev flannel.1 onlink']);
    assert.deepEqual([...want.neigh], ['10.0.1.0 lladdr 0a:fe:00:00:00:01 PERMANENT']);
    assert.deepEqual([...want.fdb], ['0a:fe:00:00:00:01 dst 192.168.100.1']);
    const have = { routes: new Set(want.routes), neigh: new Set<string>(), fdb: new Set(['0a:fe:00:00:00:01 dst 192.168.100.9']) };
    const d = compare(want, have);
    assert.equal(d.missing, 2);
    assert.equal(d.extra, 1);
    assert.deepEqual(d.byKind.neigh, { missing: 1, extra: 0 });
    assert.equal(compare(want, want).missing + compare(want, want).extra, 0);
  });
});
