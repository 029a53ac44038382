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

  beforeEach(async () => {
    echo = createServer((s) => {
      echoed.add(s);
      s.on('close', () => echoed.delete(s));
      s.on('error', () => {}).pipe(s);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const target = echo.address();
    assert.ok(target && typeof target === 'object');
    proxy = new FaultProxy({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: target.port });
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
});
