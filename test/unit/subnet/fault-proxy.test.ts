/**
 * The test fault proxy (test/support/fault-proxy.ts), in-process on 127.0.0.1 in front of an
 * echo server: each mode does what the store-fault tests rely on.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FaultProxy } from '../../support/fault-proxy.js';
import { poll } from '../../support/poll.js';

/** A client connection that records what comes back and how it ended. */
async function connect(port: number): Promise<{ sock: Socket; got: () => string; ended: () => string | undefined }> {
  const sock = createConnection({ host: '127.0.0.1', port });
  let got = '';
  let ended: string | undefined;
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (got += d));
  sock.on('error', (err: NodeJS.ErrnoException) => (ended = err.code ?? 'error'));
  sock.on('close', () => (ended ??= 'closed'));
  await once(sock, 'connect');
  return { sock, got: () => got, ended: () => ended };
}

describe('fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  let port = 0;
  const echoed = new Set<Socket>();
  /** Every chunk the echo server read, in the order it read them. */
  let received: string[] = [];
  /** The reorder draws the proxy made so far (tests that script them set `script`). */
  let draws = 0;
  let script: readonly number[] | undefined;
  const random = () => {
    const r = script ? (script[draws] ?? 0) : Math.random();
    draws++;
    return r;
  };

  beforeEach(async () => {
    received = [];
    draws = 0;
    script = undefined;
    echo = createServer((s) => {
      echoed.add(s);
      s.on('data', (d: Buffer) => received.push(d.toString('utf8')));
      s.on('close', () => echoed.delete(s));
      s.on('error', () => {}).pipe(s);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const target = echo.address();
    assert.ok(target && typeof target === 'object');
    proxy = new FaultProxy({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: target.port }, { random });
    port = await proxy.start();
  });
  afterEach(async () => {
    await proxy.stop();
    for (const s of echoed) s.destroy();
    echo.close();
  });

  const T = { timeoutMs: 2000, intervalMs: 5 };

  it('passes, then blackholes open and new connections without closing them, and they stay dead after pass', async () => {
    proxy.set({ mode: 'pass' });
    const a = await connect(port);
    a.sock.write('one');
    await poll(() => a.got() === 'one', { what: 'echo', ...T });
    proxy.set({ mode: 'blackhole' });
    const b = await connect(port);
    a.sock.write('two');
    b.sock.write('three');
    await assert.rejects(poll(() => a.got() !== 'one' || b.got() !== '' || a.ended() || b.ended(), { what: 'anything', timeoutMs: 300, intervalMs: 10 }));
    proxy.set({ mode: 'pass' });
    a.sock.write('four');
    const c = await connect(port);
    c.sock.write('five');
    await poll(() => c.got() === 'five', { what: 'a new connection after pass', ...T });
    assert.equal(a.got(), 'one', 'a blackholed connection stays dead');
    for (const x of [a, b, c]) x.sock.destroy();
  });

  it('drops: open connections are closed, new ones reset', async () => {
    proxy.set({ mode: 'pass' });
    const a = await connect(port);
    proxy.set({ mode: 'drop' });
    await poll(() => a.ended(), { what: 'the close', ...T });
    // A new connection is reset at once (before or just after the client saw it established).
    const b = createConnection({ host: '127.0.0.1', port });
    const [err] = (await once(b, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    proxy.set({ mode: 'pass' });
  });

  it('delays each chunk, in order', async () => {
    proxy.set({ mode: 'delay', delayMs: 150 });
    const a = await connect(port);
    const t0 = Date.now();
    a.sock.write('x');
    a.sock.write('y');
    await poll(() => a.got() === 'xy', { what: 'the delayed echo', ...T });
    assert.ok(Date.now() - t0 >= 280, `echoed after ${Date.now() - t0} ms (150 ms each way)`);
    a.sock.destroy();
    proxy.set({ mode: 'pass' });
  });

  it('cuts a reply short and closes the connection', async () => {
    proxy.set({ mode: 'cut' });
    const a = await connect(port);
    a.sock.write('abcdefgh');
    await poll(() => a.ended(), { what: 'the cut', ...T });
    assert.equal(a.got(), 'abcd');
    proxy.set({ mode: 'pass' });
  });

  it('stalls open connections (new ones pass) and delivers what it held on pass', async () => {
    proxy.set({ mode: 'pass' });
    const a = await connect(port);
    proxy.set({ mode: 'stall' });
    a.sock.write('held');
    const b = await connect(port);
    b.sock.write('new');
    await poll(() => b.got() === 'new', { what: 'a new connection', ...T });
    assert.equal(a.got(), '');
    proxy.set({ mode: 'pass' });
    await poll(() => a.got() === 'held', { what: 'the held data', ...T });
    a.sock.destroy();
    b.sock.destroy();
  });

  it('reorders: a newer connection\'s first bytes overtake an older connection\'s', async () => {
    // The first chunk read (a's request) is held 0.9 x 300 ms, everything after it not at all.
    script = [0.9];
    proxy.set({ mode: 'reorder', delayMs: 300 });
    const a = await connect(port);
    const order: string[] = [];
    a.sock.on('data', (d: string) => order.push(d));
    a.sock.write('a');
    await poll(() => draws >= 1, { what: 'the proxy to read a', ...T });
    const b = await connect(port);
    b.sock.on('data', (d: string) => order.push(d));
    b.sock.write('b');
    await poll(() => a.got() === 'a' && b.got() === 'b', { what: 'both echoes', ...T });
    assert.deepEqual(received, ['b', 'a'], 'the target read b (sent later, on a newer connection) first');
    assert.deepEqual(order, ['b', 'a'], 'and its reply came back first');
    a.sock.destroy();
    b.sock.destroy();
    proxy.set({ mode: 'pass' });
  });

  it('reorders across connections but never within one, nor across a switch to pass', async () => {
    // Draws for the requests 1, 2, 3 of one connection: held 180, 100 and 0 ms; echoes not held.
    script = [0.9, 0.5, 0];
    proxy.set({ mode: 'reorder', delayMs: 200 });
    const a = await connect(port);
    const t0 = Date.now();
    for (const [k, chunk] of ['1', '2', '3'].entries()) {
      a.sock.write(chunk);
      await poll(() => draws >= k + 1, { what: `the proxy to read ${chunk}`, ...T });
    }
    // Held at the switch: still delivered, and what is read after the switch waits behind it.
    proxy.set({ mode: 'pass' });
    a.sock.write('4');
    await poll(() => a.got().length === 4, { what: 'the echoes', ...T });
    assert.equal(received.join(''), '1234', 'the target read one connection\'s bytes in order');
    assert.equal(a.got(), '1234');
    assert.ok(Date.now() - t0 >= 170, `echoed after ${Date.now() - t0} ms, though the first chunk was held 180 ms`);
    a.sock.destroy();
  });

  it('reorders with random draws: 20 connections\' requests reach the target out of the order sent, each within the bound', async () => {
    const bound = 200;
    const n = 20;
    const clients = await Promise.all(Array.from({ length: n }, () => connect(port)));
    proxy.set({ mode: 'reorder', delayMs: bound });
    const t0 = Date.now();
    const sent = clients.map((c, k) => {
      c.sock.write(`c${k};`);
      return `c${k};`;
    });
    await poll(() => received.length === n && clients.every((c, k) => c.got() === sent[k]), { what: 'every request and echo', ...T });
    const took = Date.now() - t0;
    assert.deepEqual([...received].sort(), [...sent].sort(), 'each request arrived whole, once');
    // In order by chance: 1 in 20! (about 4e-19).
    assert.notDeepEqual(received, sent, 'the target read the requests out of the order they were sent in');
    assert.ok(took <= 2 * bound + 1000, `all echoed after ${took} ms (each way at most ${bound} ms)`);
    for (const c of clients) c.sock.destroy();
    proxy.set({ mode: 'pass' });
  });

  it('delivers what a closing end sent before closing the other end (reorder, delay)', async () => {
    script = [1];
    proxy.set({ mode: 'reorder', delayMs: 150 });
    const a = await connect(port);
    a.sock.write('last words');
    await poll(() => draws >= 1, { what: 'the proxy to read them', ...T });
    a.sock.destroy();
    await poll(() => received.join('') === 'last words', { what: 'the held request at the target', ...T });
    proxy.set({ mode: 'pass' });
  });
});
