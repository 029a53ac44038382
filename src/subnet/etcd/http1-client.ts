/**
 * The slice of HTTP/1.1 that etcd's JSON gateway needs, straight on node:net (node:tls for
 * TLS endpoints): a POST with a body, a reply framed by content-length or chunked transfer
 * encoding (the watch stream), keep-alive connections per endpoint. Not node:http: loading
 * it and its parser costs the agent ~1.3 MiB of RSS on Node 20 and ~1.7 MiB on Node 24, for
 * requests this small module can make. The reply is a Readable (its 'data', 'end', 'error',
 * 'close' events and async iteration as node:http's IncomingMessage has them).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

/** Where a request goes: TCP host and port, or a unix socket; TLS when `tls` is set. */
export interface Http1Target {
  /** Pool key: connections are reused between requests to the same key. */
  readonly key: string;
  readonly host: string;
  readonly port?: number | undefined;
  readonly socketPath?: string | undefined;
  /** TLS options (CA, client certificate, servername); undefined for plain TCP. */
  readonly tls?: ConnectionOptions | undefined;
}

/** Longest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** An HTTP error of the exchange itself (a malformed reply, a connection lost early). */
export class Http1Error extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'Http1Error';
  }
}

/** A reply: status, headers (lower-case names), and the body as a stream of Buffers. */
export class Http1Reply extends Readable {
  /** True once the whole body has arrived (as IncomingMessage.complete). */
  complete = false;

  constructor(
    readonly statusCode: number,
    readonly headers: ReadonlyMap<string, string>,
  ) {
    super();
    // A reply can fail before its reader attaches (it is handed out, then the rest of the same
    // read turns out malformed): the failure stays in its state (`errored`, `destroyed`) for
    // the reader to find, instead of an unheard 'error' event ending the process.
    this.on('error', () => {});
  }

  override _read(): void {
    // Data is pushed as the socket delivers it.
  }
}

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

/**
 * One request on one connection: emits 'socket' (reused: boolean) once it has a connection,
 * 'connect' when a new connection is established (TLS included), 'response' (Http1Reply),
 * 'error' for failures before the response (after it, the reply is destroyed with them).
 */
export class Http1Request extends EventEmitter {
  destroyed = false;
  private socket: Socket | undefined;
  private reply: Http1Reply | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private body: BodyMode | undefined;
  /** Chunked decoding: bytes of the chunk being read still to come, or -1 while reading a size line. */
  private chunkLeft = -1;
  /** Chunked decoding: a size line (or a chunk's trailing CRLF, or the trailer) split across reads. */
  private lineCarry = '';
  private afterChunk = false;
  private inTrailer = false;
  /** Chunked decoding: the last chunk and its trailer have been read. */
  private trailerDone = false;
  private finished = false;
  /** The connection may carry another request once this reply is complete. */
  private reusable = false;
  private readonly onData = (chunk: Buffer) => this.read(chunk);
  private readonly onEnd = () => this.lost('the connection closed before the reply was complete');
  private readonly onSocketError = (err: Error) => this.fail(err);

  constructor(private readonly pool: Http1Pool) {
    super();
  }

  /** @internal The pool hands over a connection; the request is written at once. */
  attach(socket: Socket, reused: boolean, payload: string): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.ref();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onSocketError);
    this.emit('socket', reused);
    socket.write(payload);
  }

  /** Aborts the request (or the reply being read); the connection is closed, not reused. */
  destroy(err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const socket = this.detach();
    socket?.destroy();
    if (this.finished) return;
    this.finished = true;
    const reason = err ?? new Http1Error('request aborted', 'ECONNRESET');
    if (this.reply) this.reply.destroy(err);
    else if (err) this.emit('error', reason);
  }

  private detach(): Socket | undefined {
    const s = this.socket;
    if (!s) return undefined;
    this.socket = undefined;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onSocketError);
    return s;
  }

  private fail(err: Error): void {
    this.destroy(err);
  }

  private lost(what: string): void {
    if (this.finished) return;
    if (this.body?.kind === 'close' && this.reply) {
      // A body without framing ends with the connection.
      this.done(false);
      return;
    }
    this.destroy(new Http1Error(what, 'ECONNRESET'));
  }

  private read(chunk: Buffer): void {
    if (this.finished) return;
    try {
      if (!this.reply) {
        const rest = this.readHead(chunk);
        if (rest === undefined) return;
        chunk = rest;
      }
      this.readBody(chunk);
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Collects the head; once complete, emits 'response' and returns the bytes after it. */
  private readHead(chunk: Buffer): Buffer | undefined {
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const all = this.head.length === 1 ? chunk : Buffer.concat(this.head);
    const end = all.indexOf(HEAD_END);
    if (end < 0) {
      if (this.headBytes > MAX_HEAD_BYTES) throw new Http1Error(`reply head longer than ${MAX_HEAD_BYTES} bytes`, 'HPE_HEADER_OVERFLOW');
      this.head = [all];
      return undefined;
    }
    this.head = [];
    const lines = all.toString('latin1', 0, end).split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!status) throw new Http1Error(`not an HTTP/1.1 reply: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'HPE_INVALID_CONSTANT');
    const code = Number(status[1]);
    const rest = all.subarray(end + HEAD_END.length);
    if (code >= 100 && code < 200) {
      // An interim reply (100 Continue): the real one follows.
      this.headBytes = 0;
      return rest.length > 0 ? this.readHead(rest) : undefined;
    }
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Http1Error(`malformed reply header: ${JSON.stringify(line.slice(0, 80))}`, 'HPE_INVALID_HEADER_TOKEN');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const te = headers.get('transfer-encoding');
    const cl = headers.get('content-length');
    if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) this.body = { kind: 'chunked' };
    else if (cl !== undefined) {
      const n = Number(cl);
      if (!/^\d+$/.test(cl) || !Number.isSafeInteger(n)) throw new Http1Error(`bad content-length ${JSON.stringify(cl)}`, 'HPE_INVALID_CONTENT_LENGTH');
      this.body = { kind: 'length', left: n };
    } else this.body = { kind: 'close' };
    const keepAlive = !/(^|,)\s*close\s*(,|$)/i.test(headers.get('connection') ?? '');
    this.reusable = keepAlive && this.body.kind !== 'close';
    this.reply = new Http1Reply(code, headers);
    this.emit('response', this.reply);
    return rest;
  }

  private readBody(chunk: Buffer): void {
    const body = this.body!;
    if (body.kind === 'close') {
      if (chunk.length > 0) this.reply!.push(chunk);
      return;
    }
    if (body.kind === 'length') {
      const take = Math.min(body.left, chunk.length);
      if (take > 0) this.reply!.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      body.left -= take;
      if (body.left === 0) this.done(take === chunk.length);
      return;
    }
    this.readChunked(chunk);
  }

  /** Chunked transfer coding (RFC 9112 section 7.1): size line, data, CRLF; size 0 ends, then trailers. */
  private readChunked(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.trailerDone) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, chunk.length - i);
        this.reply!.push(chunk.subarray(i, i + take));
        this.chunkLeft -= take;
        i += take;
        if (this.chunkLeft === 0) {
          this.chunkLeft = -1;
          this.afterChunk = true;
        }
        continue;
      }
      if (this.lineCarry.endsWith('\r') && chunk[i] === 0x0a) {
        // The CRLF itself was split across reads.
        const line = this.lineCarry.slice(0, -1);
        this.lineCarry = '';
        i += 1;
        this.line(line);
        continue;
      }
      const eol = chunk.indexOf(CRLF, i);
      const piece = chunk.toString('latin1', i, eol < 0 ? chunk.length : eol);
      if (eol < 0) {
        // A line split across reads (a lone CR at the end included).
        this.lineCarry += piece;
        if (this.lineCarry.length > 1024) throw new Http1Error('chunk size line too long', 'HPE_INVALID_CHUNK_SIZE');
        return;
      }
      const line = this.lineCarry + piece;
      this.lineCarry = '';
      i = eol + 2;
      this.line(line);
    }
    if (this.trailerDone) this.done(i === chunk.length);
  }

  private line(line: string): void {
    if (this.afterChunk) {
      // The CRLF that ends a chunk's data.
      if (line !== '') throw new Http1Error('chunk data longer than its size', 'HPE_INVALID_CHUNK_SIZE');
      this.afterChunk = false;
      return;
    }
    if (this.inTrailer) {
      if (line === '') this.trailerDone = true;
      return;
    }
    const m = /^([0-9a-fA-F]{1,12})(?:\s*;.*)?\s*$/.exec(line);
    if (!m) throw new Http1Error(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`, 'HPE_INVALID_CHUNK_SIZE');
    const size = parseInt(m[1]!, 16);
    if (size === 0) this.inTrailer = true;
    else this.chunkLeft = size;
  }

  /** The reply is complete: the connection goes back to the pool when it can carry another. */
  private done(nothingAfter: boolean): void {
    this.finished = true;
    this.destroyed = true;
    const reply = this.reply!;
    reply.complete = true;
    const socket = this.detach();
    if (socket) {
      if (this.reusable && nothingAfter && !socket.destroyed) this.pool.release(socket);
      else socket.destroy();
    }
    reply.push(null);
  }
}

/**
 * Keep-alive connections per target. An idle connection does not keep the process alive; one
 * the server closed meanwhile is dropped (a request that finds it closed under it fails as a
 * reused connection, and the caller may retry on a fresh one).
 */
export class Http1Pool {
  private readonly idle = new Map<string, Socket[]>();
  private readonly keyOf = new WeakMap<Socket, string>();
  private closed = false;

  /** Starts a POST of `body` with `headers`; listen on the returned request before the next tick. */
  post(target: Http1Target, path: string, headers: Readonly<Record<string, string | number>>, body: string): Http1Request {
    const req = new Http1Request(this);
    let head = `POST ${path} HTTP/1.1\r\nhost: ${hostHeader(target)}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    const payload = `${head}\r\n${body}`;
    process.nextTick(() => this.connect(target, req, payload));
    return req;
  }

  /** @internal A connection whose reply is complete, for the next request to the same target. */
  release(socket: Socket): void {
    const key = this.keyOf.get(socket);
    if (this.closed || key === undefined) {
      socket.destroy();
      return;
    }
    socket.unref();
    const list = this.idle.get(key) ?? [];
    list.push(socket);
    this.idle.set(key, list);
  }

  /** Closes every idle connection (requests in flight are the callers' to destroy). */
  destroy(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const s of list) s.destroy();
    this.idle.clear();
  }

  private connect(target: Http1Target, req: Http1Request, payload: string): void {
    if (req.destroyed) return;
    const list = this.idle.get(target.key);
    while (list && list.length > 0) {
      const s = list.pop()!;
      if (!s.destroyed && s.readyState === 'open') {
        req.attach(s, true, payload);
        return;
      }
    }
    let socket: Socket;
    try {
      socket = target.tls ? this.connectTls(target) : this.connectTcp(target);
    } catch (err) {
      req.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.keyOf.set(socket, target.key);
    const forget = () => this.forget(target.key, socket);
    socket.on('close', forget);
    // An idle connection's error only closes it; a request's error reaches the request.
    socket.on('error', () => {});
    socket.once(target.tls ? 'secureConnect' : 'connect', () => req.emit('connect'));
    req.attach(socket, false, payload);
  }

  private connectTcp(target: Http1Target): Socket {
    const net = process.getBuiltinModule('node:net');
    return target.socketPath !== undefined ? net.connect({ path: target.socketPath }) : net.connect({ host: target.host, port: target.port ?? 80 });
  }

  private connectTls(target: Http1Target): TLSSocket {
    // TLS (and with it node:crypto) loads only for TLS endpoints.
    const tls = process.getBuiltinModule('node:tls');
    const where = target.socketPath !== undefined ? { path: target.socketPath } : { host: target.host, port: target.port ?? 443 };
    return tls.connect({ ...target.tls, ...where });
  }

  private forget(key: string, socket: Socket): void {
    const list = this.idle.get(key);
    if (!list) return;
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(key);
  }
}

function hostHeader(t: Http1Target): string {
  if (t.socketPath !== undefined) return t.host;
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return t.port === undefined ? host : `${host}:${t.port}`;
}
