import { constants } from 'node:os';
import { KernelError } from '../errors.js';
import { Errno, kernelError } from './kernel-errors.js';
import { ChunkTable, chunkWriter, writeChunk, type BatchSource, type Chunk } from './batch-chunks.js';
import { align4, encodeMessage, type NetlinkMessage } from './netlink-codec.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from './netlink-constants.js';
import { openRawSocket, rawErrno, type RawSocket } from './raw-socket.js';

export type { BatchSource } from './batch-chunks.js';

/** What a request is about, for the error it may raise: "replace route" + "10.1.0.0/24 via ...". */
export interface RequestDescription {
  op: string;
  object: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Bound on the wait for the kernel's answer (default 30 s). */
  timeoutMs?: number;
}

/** One request of a pipelined batch: message type, extra flags (CREATE, REPLACE...), body. */
export interface BatchRequest {
  type: number;
  flags: number;
  body: Buffer;
}

/** One request or dump in flight. */
interface Waiter {
  dump: boolean;
  interrupted: boolean;
  /** A reply before the ACK or NLMSG_DONE (a dump part, RTM_GETLINK's answer). */
  add(msg: NetlinkMessage): void;
  done(errno: number): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Requests per sendmsg in a batch; only the last carries NLM_F_ACK (the barrier). */
const BATCH_CHUNK = 256;
const DUMP_RETRIES = 5;

/**
 * A request/response rtnetlink socket: numbered requests with ACKs, multipart dumps, and
 * pipelined batches. Dumps are serialised (the kernel runs one dump per socket at a time).
 * Answers are matched by sequence number, so callers may interleave freely.
 */
export class NetlinkSocket {
  private readonly pending = new Map<number, Waiter>();
  private readonly chunks = new ChunkTable();
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private closed = false;
  private dumpTail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly raw: RawSocket) {
    raw.on('message', (buf, rinfo) => {
      // Only the kernel (port 0) answers requests.
      if (rinfo.port === 0) this.onDatagram(buf);
    });
    raw.on('truncatedMessage', () => this.failAll(Errno.ENOBUFS));
    raw.on('error', (err) => this.failAll(rawErrno(err)));
  }

  /** Wraps an already open datagram socket (tests give a fake kernel here). */
  static fromRaw(raw: RawSocket): NetlinkSocket {
    return new NetlinkSocket(raw);
  }

  /** Opens a socket in the process's current network namespace. */
  static open(opts: { receiveBufferBytes?: number; protocol?: number } = {}): NetlinkSocket {
    return new NetlinkSocket(openRawSocket({ receiveBufferBytes: opts.receiveBufferBytes ?? 1 << 20, protocol: opts.protocol }));
  }

  /** Sends one request with NLM_F_ACK; resolves with the replies before the ACK (e.g. RTM_GETLINK's). */
  async request(type: number, flags: number, body: Buffer, desc: RequestDescription, opts: CallOptions = {}): Promise<NetlinkMessage[]> {
    const replies: NetlinkMessage[] = [];
    await this.call(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, desc, opts, false, (msg) => replies.push(msg));
    return replies;
  }

  /**
   * Like request(), but the errnos in `ok` count as success (resolves false): EEXIST for
   * ensure-style adds, the not-found errnos for deletes. Resolves true when the kernel did it.
   */
  async requestAllowing(
    ok: ReadonlySet<number>,
    type: number,
    flags: number,
    body: Buffer,
    desc: RequestDescription,
    opts: CallOptions = {},
  ): Promise<boolean> {
    try {
      await this.request(type, flags, body, desc, opts);
      return true;
    } catch (err) {
      if (err instanceof KernelError && ok.has(err.errno)) return false;
      throw err;
    }
  }

  /** A dump (NLM_F_DUMP): all parts until NLMSG_DONE. Retried while the kernel flags it interrupted. */
  dump(type: number, body: Buffer, desc: RequestDescription, opts: CallOptions = {}): Promise<NetlinkMessage[]> {
    return this.dumpParsed(type, body, desc, opts, (msg) => msg);
  }

  /**
   * A dump whose parts are handed to `parse` as they arrive (undefined: left out), so that
   * neither the parts nor the datagrams that hold them are kept until the dump ends. An
   * exception of `parse` rejects the dump once it is over. Retried as dump() is.
   */
  dumpParsed<T>(
    type: number,
    body: Buffer,
    desc: RequestDescription,
    opts: CallOptions,
    parse: (msg: NetlinkMessage) => T | undefined,
  ): Promise<T[]> {
    const run = async (): Promise<T[]> => {
      for (let attempt = 1; ; attempt++) {
        const out: T[] = [];
        let failure: { err: unknown } | undefined;
        const interrupted = await this.call(type, NLM_F_REQUEST | NLM_F_DUMP, body, desc, opts, true, (msg) => {
          if (failure) return;
          try {
            const value = parse(msg);
            if (value !== undefined) out.push(value);
          } catch (err) {
            failure = { err };
          }
        });
        // After DUMP_RETRIES interrupted dumps the last one is returned: callers reconcile again later.
        if (interrupted && attempt < DUMP_RETRIES) continue;
        if (failure) throw failure.err;
        return out;
      }
    };
    const result = this.dumpTail.then(run, run);
    this.dumpTail = result.catch(() => undefined);
    return result;
  }

  /**
   * Pipelines many requests: chunks of up to 256 messages, each chunk one sendmsg, only its
   * last message asking for an ACK (the kernel handles a chunk in order, so errors of the
   * others arrive before that ACK). One chunk is in flight at a time, which bounds the
   * replies queued on the socket. Resolves with the errno of each request (0 = success).
   */
  batch(requests: readonly BatchRequest[], desc: RequestDescription, opts: CallOptions = {}): Promise<Int32Array> {
    const source: BatchSource = {
      count: requests.length,
      write(w, i) {
        const req = requests[i] as BatchRequest;
        const start = w.beginMessage(req.type, req.flags);
        w.raw(req.body).endMessage(start);
        w.setU32(start, NLMSG_HDRLEN + req.body.length);
      },
    };
    return this.batchFrom(source, desc, opts);
  }

  /**
   * batch() over requests encoded only when their chunk goes out: only the chunk in flight
   * is in memory, as one buffer, and it is waited on with one promise; one timer and one
   * abort listener serve the whole batch, the timer restarted for each chunk.
   */
  async batchFrom(source: BatchSource, desc: RequestDescription, opts: CallOptions = {}): Promise<Int32Array> {
    const total = source.count;
    const results = new Int32Array(total);
    if (total === 0) return results;
    let fail: ((err: unknown) => void) | undefined;
    const onTimeout = (): void => fail?.(kernelError(desc.op, desc.object, Errno.ETIMEDOUT, { notFound: false }));
    const onAbort = (): void => fail?.(opts.signal?.reason);
    const timer = setTimeout(onTimeout, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let chunk: Chunk | undefined;
    // One buffer for all chunks: each is written after the one before was answered.
    const writer = chunkWriter();
    try {
      for (let base = 0; base < total; base += BATCH_CHUNK) {
        opts.signal?.throwIfAborted();
        this.assertOpen(desc);
        const count = Math.min(BATCH_CHUNK, total - base);
        const first = this.takeSeqs(count);
        const bytes = writeChunk(source, base, count, first, writer);
        const answered = new Promise<void>((resolve, reject) => {
          chunk = { first, count, base, results, settle: resolve };
          fail = reject;
        });
        const c = chunk as Chunk;
        this.chunks.add(c);
        this.raw.ref();
        timer.refresh();
        this.raw.send(bytes, undefined, (err) => {
          if (err && this.chunks.has(c)) this.chunks.finish(c, rawErrno(err));
        });
        await answered;
        fail = undefined;
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (chunk) this.chunks.delete(chunk);
      this.unrefIfIdle();
    }
    return results;
  }

  close(): void {
    if (this.closed) return;
    this.failAll(constants.errno.ECANCELED);
    this.closed = true;
    this.raw.close();
  }

  /** One request or dump; resolves with whether the kernel flagged it interrupted (NLM_F_DUMP_INTR). */
  private call(
    type: number,
    flags: number,
    body: Buffer,
    desc: RequestDescription,
    opts: CallOptions,
    dump: boolean,
    add: (msg: NetlinkMessage) => void,
  ): Promise<boolean> {
    opts.signal?.throwIfAborted();
    this.assertOpen(desc);
    const seq = this.nextSeq();
    const answer = new Promise<boolean>((resolve, reject) => {
      this.pending.set(seq, {
        dump,
        interrupted: false,
        add,
        done(errno) {
          if (errno === 0) resolve(this.interrupted);
          else reject(kernelError(desc.op, desc.object, errno));
        },
      });
    });
    this.raw.ref();
    this.raw.send(encodeMessage(type, flags, seq, body), undefined, (err) => {
      if (err) this.settle(seq, rawErrno(err));
    });
    return bounded(answer, desc, opts).finally(() => {
      this.pending.delete(seq);
      this.unrefIfIdle();
    });
  }

  /** Walks the messages of a datagram in place: no object for an ACK or an error. */
  private onDatagram(buf: Buffer): void {
    let off = 0;
    while (off + NLMSG_HDRLEN <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      const seq = buf.readUInt32LE(off + 8);
      if (type === NLMSG_ERROR) {
        const errno = len >= NLMSG_HDRLEN + 4 ? -buf.readInt32LE(off + NLMSG_HDRLEN) : Errno.EINTR;
        if (!this.settle(seq, errno)) this.chunks.answer(seq, errno);
      } else {
        const waiter = this.pending.get(seq);
        if (waiter && type === NLMSG_DONE) {
          if (waiter.dump) this.settle(seq, len >= NLMSG_HDRLEN + 4 ? -buf.readInt32LE(off + NLMSG_HDRLEN) : 0);
        } else if (waiter && type >= NLMSG_MIN_TYPE) {
          const flags = buf.readUInt16LE(off + 6);
          if (flags & NLM_F_DUMP_INTR) waiter.interrupted = true;
          waiter.add({ type, flags, seq, pid: buf.readUInt32LE(off + 12), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) });
        }
      }
      off += align4(len);
    }
  }

  /** Ends the request numbered `seq` with `errno`; false when none is waiting. */
  private settle(seq: number, errno: number): boolean {
    const waiter = this.pending.get(seq);
    if (!waiter) return false;
    this.pending.delete(seq);
    waiter.done(errno);
    return true;
  }

  /** Replies were lost (ENOBUFS) or the socket failed: nothing pending can be trusted. */
  private failAll(errno: number): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, errno);
    this.chunks.failAll(errno);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** `count` consecutive sequence numbers (never 0, never wrapping); returns the first. */
  private takeSeqs(count: number): number {
    if (this.seq + count > 0xffffffff) this.seq = 0;
    const first = this.seq + 1;
    this.seq += count;
    return first;
  }

  private unrefIfIdle(): void {
    if (this.pending.size === 0 && this.chunks.size === 0 && !this.closed) this.raw.unref();
  }

  private assertOpen(desc: RequestDescription): void {
    if (this.closed) throw kernelError(desc.op, desc.object, constants.errno.EBADF, { notFound: false });
  }
}


/** Waits for `answer`, bounded by the timeout and the signal. */
function bounded<T>(answer: Promise<T>, desc: RequestDescription, opts: CallOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => finish(() => reject(opts.signal?.reason));
    const timer = setTimeout(
      () => finish(() => reject(kernelError(desc.op, desc.object, Errno.ETIMEDOUT, { notFound: false }))),
      timeoutMs,
    );
    const finish = (fn: () => void): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    answer.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
