import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollTimeoutError } from './errors.js';
import { poll } from './poll.js';

describe('poll', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    assert.equal(await poll(() => (++n >= 3 ? n : 0), { what: 'n to reach 3', intervalMs: 1 }), 3);
  });

  it('times out with an error naming what it waited for', async () => {
    await assert.rejects(poll(() => false, { what: 'the moon', timeoutMs: 30, intervalMs: 5 }), (err: unknown) => {
      assert.ok(err instanceof PollTimeoutError);
      assert.equal(err.code, 'ERR_POLL_TIMEOUT');
      assert.equal(err.what, 'the moon');
      assert.match(err.message, /the moon/);
      return true;
    });
  });

  it('propagates errors unless told to ignore them, then keeps the last as cause', async () => {
    const boom = new Error('boom');
    await assert.rejects(poll(() => Promise.reject(boom), { what: 'x', timeoutMs: 50 }), boom);
    await assert.rejects(poll(() => Promise.reject(boom), { what: 'x', timeoutMs: 30, intervalMs: 5, ignoreErrors: true }), (err: unknown) => {
      assert.ok(err instanceof PollTimeoutError);
      assert.equal(err.cause, boom);
      return true;
    });
  });

  it('bounds an attempt that never settles by the deadline', async () => {
    const start = Date.now();
    await assert.rejects(poll(() => new Promise<boolean>(() => {}), { what: 'a hung attempt', timeoutMs: 50 }), PollTimeoutError);
    assert.ok(Date.now() - start < 1000);
  });

  it('stops when its signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(poll(() => false, { what: 'x', timeoutMs: 5000, intervalMs: 5, signal: ac.signal }), { name: 'AbortError' });
  });
});
