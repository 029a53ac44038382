/** The benchmark's pure helpers: klog time parsing, summaries, metric deltas, synthetic leases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REMOTE_LEASES, STARTING, findLine, parseLog, parseLogLine } from '../../../bench/support/agent-log.js';
import { countDelta } from '../../../bench/support/etcd-gateway.js';
import { summarize } from '../../../bench/support/stats.js';
import { syntheticLeases } from '../../../bench/scenarios/startup-5000.js';
import { formatLine } from '../../../src/log/logger.js';
import { parseSubnetKey } from '../../../src/lease/lease.js';

describe('bench support', () => {
  it('reads back the time, pid and message of a logger line', () => {
    const at = new Date(2026, 10, 26, 13, 39, 4, 123);
    const line = formatLine('I', 'flanneld', 'flannel-ts 0.1.0 starting (pid 4242)', at, 4242).trimEnd();
    const p = parseLogLine(line, at.getTime() + 5000);
    assert.ok(p);
    assert.equal(p.time, at.getTime());
    assert.equal(p.pid, 4242);
    assert.equal(p.component, 'flanneld');
    assert.match(p.message, STARTING);
  });

  it('picks the year nearest to now across new year', () => {
    const at = new Date(2025, 11, 31, 23, 59, 59, 900);
    const line = formatLine('I', 'x', 'm', at, 1).trimEnd();
    assert.equal(parseLogLine(line, new Date(2026, 0, 1, 0, 0, 1).getTime())?.time, at.getTime());
  });

  it('finds the remote-lease count line and skips non-log text', () => {
    const now = new Date();
    const text = ['garbage', formatLine('I', 'flanneld', 'leases: 5000 added, 0 removed, 5000 remote leases now', now, 7)].join('\n');
    const l = findLine(parseLog(text), REMOTE_LEASES);
    assert.equal(REMOTE_LEASES.exec(l?.message ?? '')?.[1], '5000');
  });

  it('summarizes p50 (lower median), min, max', () => {
    assert.deepEqual(summarize([5, 1, 3]), { p50: 3, min: 1, max: 5, n: 3 });
    assert.deepEqual(summarize([4, 1, 3, 2]), { p50: 2, min: 1, max: 4, n: 4 });
    assert.ok(Number.isNaN(summarize([]).p50));
  });

  it('subtracts metric counters per method', () => {
    const d = countDelta(new Map([['Range', 3], ['Txn', 1]]), new Map([['Range', 10], ['Txn', 1], ['Watch', 1]]));
    assert.deepEqual([...d], [['Range', 7], ['Watch', 1]]);
  });

  it('makes distinct valid lease keys inside 10.0.0.0/8, never 10.0.0.0/24', () => {
    const leases = syntheticLeases(5000);
    assert.equal(new Set(leases.map((l) => l.key)).size, 5000);
    for (const l of leases) {
      const k = parseSubnetKey(l.key);
      assert.ok(k?.subnet, l.key);
      assert.notEqual(k.subnet.toString(), '10.0.0.0/24');
      assert.equal(k.subnet.prefixLength, 24);
    }
    assert.deepEqual(JSON.parse(leases[0]!.value), { PublicIP: '172.16.0.1', PublicIPv6: null });
  });
});
