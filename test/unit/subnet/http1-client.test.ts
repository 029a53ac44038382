import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Pool, type Http1Reply, type Http1Request, type Http1Target } from '../../../src/subnet/etcd/http1-client.js';

/** A raw TCP server: each request's reply is whatever `answer` writes, split into the given pieces. */
class RawServer {
  server!: Server;
  connections = 0;
  requests: string[] = [];
  answer: (req: string, socket: Socket) => void = () => {};

  async start(): Promise<Http1Target> {
    this.server = createServer((socket) => {
      this.connections++;
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          const req = buf.slice(0, end + 4 + len);
          buf = buf.slice(end + 4 + len);
          this.requests.push(req);
          this.answer(req, socket);
        }
      });
      socket.on('error', () => {});
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const port = (this.server.address() as AddressInfo).port;
    return { key: `http://127.0.0.1:${port}`, host: '127.0.0.1', port };
  }
}

/** Sends `text` in pieces of `size` bytes, one write each. */
function writeInPieces(socket: Socket, text: string, size: number): void {
  const b = Buffer.from(text, 'utf8');
  for (let i = 0; i < b.length; i += size) socket.write(b.subarray(i, i + size));
}

async function exchange(req: Http1Request): Promise<{ res: Http1Reply; body: string; reused: boolean }> {
  let reused = false;
  req.on('socket', (r: boolean) => (reused = r));
  const [res] = (await once(req, 'response')) as [Http1Reply];
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { res, body: Buffer.concat(chunks).toString('utf8'), reused };
}

describe('Http1Pool', () => {
  const srv = new RawServer();
  let target: Http1Target;
  const pool = new Http1Pool();
  before(async () => {
    target = await srv.start();
  });
  after(() => {
    pool.destroy();
    srv.server.close();
  });

  it('sends a POST with host, headers and body; reads a content-length reply; reuses the connection', async () => {
    const conns = srv.connections;
    srv.requests.length = 0;
    srv.answer = (_req, s) => writeInPieces(s, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"é":"value"}', 7);
    const body = '{"key":"YQ=="}';
    const first = await exchange(pool.post(target, '/v3/kv/range', { 'content-type': 'application/json', 'content-length': body.length }, body));
    assert.equal(first.res.statusCode, 200);
    assert.equal(first.res.headers.get('content-type'), 'application/json');
    assert.equal(first.body, '{"é":"value"}');
    assert.equal(first.res.complete, true);
    assert.equal(first.reused, false);
    assert.match(srv.requests[0]!, /^POST \/v3\/kv\/range HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\ncontent-type: application\/json\r\ncontent-length: 14\r\n\r\n\{"key":"YQ=="\}$/);
    const second = await exchange(pool.post(target, '/v3/kv/put', { 'content-length': 2 }, '{}'));
    assert.equal(second.reused, true);
    assert.equal(srv.connections, conns + 1);
  });

  it('decodes chunked replies however the bytes are split, trailers and chunk extensions included', async () => {
    const parts = ['{"result":{"created":true}}\n', '{"result":{"events":[{"kv":{"key":"YQ=="}}]}}\n', 'ü漢字'];
    const chunked = parts.map((p) => `${Buffer.byteLength(p).toString(16)};ext=1\r\n${p}\r\n`).join('') + '0\r\nx-trailer: 1\r\n\r\n';
    for (const size of [1, 2, 3, 5, 64, 4096]) {
      srv.answer = (_req, s) => writeInPieces(s, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`, size);
      const { body, res } = await exchange(pool.post(target, '/v3/watch', { 'content-length': 2 }, '{}'));
      assert.equal(body, parts.join(''), `pieces of ${size}`);
      assert.equal(res.complete, true);
    }
  });

  it('hands out a chunked stream as it arrives (a watch)', async () => {
    let sock: Socket | undefined;
    srv.answer = (_req, s) => {
      sock = s;
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    };
    const req = pool.post(target, '/v3/watch', { 'content-length': 2 }, '{}');
    const [res] = (await once(req, 'response')) as [Http1Reply];
    const it = res[Symbol.asyncIterator]();
    assert.equal(((await it.next()).value as Buffer).toString(), 'hello');
    sock!.write('6\r\n world\r\n');
    assert.equal(((await it.next()).value as Buffer).toString(), ' world');
    req.destroy();
    assert.equal(res.complete, false);
  });

  it('connection: close and unframed replies end with the connection, which is not reused', async () => {
    srv.answer = (_req, s) => s.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n{"error":"boom","code":14}');
    const r = await exchange(pool.post(target, '/x', { 'content-length': 2 }, '{}'));
    assert.equal(r.res.statusCode, 500);
    assert.equal(r.body, '{"error":"boom","code":14}');
    srv.answer = (_req, s) => writeInPieces(s, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}', 3);
    const next = await exchange(pool.post(target, '/x', { 'content-length': 2 }, '{}'));
    assert.equal(next.reused, false);
    assert.equal(next.body, '{}');
  });

  it('a connection lost mid-reply fails the reply; one lost before any reply fails the request', async () => {
    srv.answer = (_req, s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":');
      setImmediate(() => s.destroy());
    };
    await assert.rejects(exchange(pool.post(target, '/x', { 'content-length': 2 }, '{}')), { code: 'ECONNRESET' });
    srv.answer = (_req, s) => s.destroy();
    const req = pool.post(target, '/x', { 'content-length': 2 }, '{}');
    const [err] = (await once(req, 'error')) as [Error & { code?: string }];
    assert.equal(err.code, 'ECONNRESET');
  });

  it('a malformed reply fails the request with an HPE_ code', async () => {
    srv.answer = (_req, s) => s.write('SMTP ready\r\n\r\n');
    const [err] = (await once(pool.post(target, '/x', { 'content-length': 2 }, '{}'), 'error')) as [Error & { code?: string }];
    assert.equal(err.code, 'HPE_INVALID_CONSTANT');
    srv.answer = (_req, s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    await assert.rejects(exchange(pool.post(target, '/x', { 'content-length': 2 }, '{}')), { code: 'HPE_INVALID_CHUNK_SIZE' });
  });

  it('destroy() before the connection is made sends nothing and raises no error', async () => {
    const before = srv.requests.length;
    const req = pool.post(target, '/x', { 'content-length': 2 }, '{}');
    let failed = false;
    req.on('error', () => (failed = true));
    req.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(srv.requests.length, before);
    assert.equal(failed, false);
  });
});
