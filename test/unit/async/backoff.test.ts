import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../../src/async/backoff.js';

describe('Backoff', () => {
  it('doubles per failure up to the cap; random 1 gives the full delay', () => {
    const b = new Backoff(100, 1000, () => 1);
    assert.deepEqual(Array.from({ length: 7 }, () => b.nextDelay()), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.equal(b.failures, 7);
  });

  it('jitters into [delay/2, delay]', () => {
    const lo = new Backoff(100, 1000, () => 0);
    assert.deepEqual(Array.from({ length: 6 }, () => lo.nextDelay()), [50, 100, 200, 400, 500, 500]);
    const b = new Backoff(200, 10_000);
    for (let i = 0; i < 50; i++) {
      const base = Math.min(10_000, 200 * 2 ** i);
      const d = b.nextDelay();
      assert.ok(d >= base / 2 && d <= base, `attempt ${i}: ${d} outside [${base / 2}, ${base}]`);
    }
  });

  it('stays finite after very many failures', () => {
    const b = new Backoff(200, 10_000, () => 1);
    for (let i = 0; i < 10_000; i++) b.nextDelay();
    assert.equal(b.nextDelay(), 10_000);
  });

  it('reset() starts over', () => {
    const b = new Backoff(100, 1000, () => 1);
    b.nextDelay();
    b.nextDelay();
    b.reset();
    assert.equal(b.failures, 0);
    assert.equal(b.nextDelay(), 100);
  });

  it('defaults: 200 ms initial, 10 s cap', () => {
    const b = new Backoff(undefined, undefined, () => 1);
    assert.equal(b.nextDelay(), 200);
    for (let i = 0; i < 20; i++) b.nextDelay();
    assert.equal(b.nextDelay(), 10_000);
  });

  it('wait() sleeps about the delay and counts a failure', async () => {
    const b = new Backoff(20, 20, () => 1);
    const t0 = performance.now();
    await b.wait();
    assert.ok(performance.now() - t0 >= 15);
    assert.equal(b.failures, 1);
  });

  it('wait() rejects at once with the reason when the signal is already aborted', async () => {
    const b = new Backoff(60_000, 60_000);
    const reason = new Error('stop');
    await assert.rejects(b.wait(AbortSignal.abort(reason)), (err) => err === reason);
  });

  it('wait() rejects promptly when the signal aborts during the wait', async () => {
    const b = new Backoff(60_000, 60_000);
    const ac = new AbortController();
    const t0 = performance.now();
    const p = b.wait(ac.signal);
    setImmediate(() => ac.abort(new Error('shutdown')));
    await assert.rejects(p, /shutdown/);
    assert.ok(performance.now() - t0 < 5_000);
  });
});
