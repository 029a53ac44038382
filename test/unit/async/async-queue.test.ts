import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncQueue } from '../../../src/async/async-queue.js';

async function drain<T>(q: AsyncQueue<T>, max = 100_000): Promise<T[]> {
  const out: T[] = [];
  for await (const item of q) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

describe('AsyncQueue', () => {
  it('yields pushed items in order and ends after close() once drained', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    assert.equal(q.length, 2);
    q.close();
    q.push(3);
    assert.equal(q.length, 2, 'push after close is dropped');
    assert.deepEqual(await drain(q), [1, 2]);
    assert.equal(q.length, 0);
  });

  it('wakes a waiting consumer on push and on close', async () => {
    const q = new AsyncQueue<string>();
    const consumer = drain(q);
    await new Promise((r) => setImmediate(r));
    q.push('a');
    await new Promise((r) => setImmediate(r));
    q.push('b');
    q.push('c');
    q.close();
    assert.deepEqual(await consumer, ['a', 'b', 'c']);
  });

  it('keeps falsy and undefined items', async () => {
    const q = new AsyncQueue<number | undefined | null | string>();
    for (const v of [0, undefined, null, '', 5]) q.push(v);
    q.close();
    assert.deepEqual(await drain(q), [0, undefined, null, '', 5]);
  });

  it('handles many items from an interleaved producer', async () => {
    const q = new AsyncQueue<number>();
    const consumer = drain(q);
    for (let i = 0; i < 10_000; i++) {
      q.push(i);
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    q.close();
    const got = await consumer;
    assert.equal(got.length, 10_000);
    assert.ok(got.every((v, i) => v === i));
  });

  it('ends at once when its signal aborts, dropping what is queued', async () => {
    const ac = new AbortController();
    const q = new AsyncQueue<number>(ac.signal);
    q.push(1);
    const it = q[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    const pending = it.next();
    q.push(2);
    ac.abort();
    q.push(3);
    const first = await pending;
    // The push of 2 may or may not have been taken before the abort; after it, the iterator is done.
    if (!first.done) assert.equal(first.value, 2);
    assert.equal((await it.next()).done, true);
  });

  it('a waiting consumer is released by an abort', async () => {
    const ac = new AbortController();
    const q = new AsyncQueue<number>(ac.signal);
    const consumer = drain(q);
    await new Promise((r) => setImmediate(r));
    ac.abort();
    assert.deepEqual(await consumer, []);
  });

  it('an already aborted signal yields nothing', async () => {
    const q = new AsyncQueue<number>(AbortSignal.abort());
    q.push(1);
    assert.deepEqual(await drain(q), []);
  });
});
