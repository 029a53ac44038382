import { constants } from 'node:os';
import { KernelError } from '../errors.js';
import { Errno, kernelError } from './kernel-errors.js';
import { encodeMessage, parseMessages, type NetlinkMessage } from './netlink-codec.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_MIN_TYPE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from './netlink-constants.js';
import { openRawSocket, rawErrno, type RawSocket } from './raw-socket.js';

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

interface Waiter {
  messages: NetlinkMessage[] | undefined;
  dump: boolean;
  interrupted: boolean;
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
  static open(opts: { receiveBufferBytes?: number } = {}): NetlinkSocket {
    return new NetlinkSocket(openRawSocket({ receiveBufferBytes: opts.receiveBufferBytes ?? 1 << 20 }));
  }

  /** Sends one request with NLM_F_ACK; resolves with the replies before the ACK (e.g. RTM_GETLINK's). */
  request(type: number, flags: number, body: Buffer, desc: RequestDescription, opts: CallOptions = {}): Promise<NetlinkMessage[]> {
    return this.call(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, desc, opts, false);
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
    const run = async (): Promise<NetlinkMessage[]> => {
      let last: NetlinkMessage[] = [];
      for (let attempt = 0; attempt < DUMP_RETRIES; attempt++) {
        let interrupted = false;
        last = await this.call(type, NLM_F_REQUEST | NLM_F_DUMP, body, desc, opts, true, () => {
          interrupted = true;
        });
        if (!interrupted) break;
      }
      // After DUMP_RETRIES interrupted dumps the last one is returned: callers reconcile again later.
      return last;
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
  async batch(requests: readonly BatchRequest[], desc: RequestDescription, opts: CallOptions = {}): Promise<Int32Array> {
    const results = new Int32Array(requests.length);
    for (let start = 0; start < requests.length; start += BATCH_CHUNK) {
      opts.signal?.throwIfAborted();
      const end = Math.min(start + BATCH_CHUNK, requests.length);
      const bufs: Buffer[] = [];
      const seqs: number[] = [];
      const barrier = new Promise<number>((resolve) => {
        for (let i = start; i < end; i++) {
          const req = requests[i] as BatchRequest;
          const seq = this.nextSeq();
          const isLast = i === end - 1;
          seqs.push(seq);
          bufs.push(encodeMessage(req.type, NLM_F_REQUEST | req.flags | (isLast ? NLM_F_ACK : 0), seq, req.body));
          this.pending.set(seq, {
            messages: undefined,
            dump: false,
            interrupted: false,
            done: (errno) => {
              results[i] = errno;
              if (isLast) resolve(errno);
            },
          });
        }
      });
      try {
        this.assertOpen(desc);
        this.raw.ref();
        this.send(Buffer.concat(bufs), seqs);
        await bounded(barrier, desc, opts);
      } finally {
        for (const seq of seqs) this.pending.delete(seq);
        this.unrefIfIdle();
      }
    }
    return results;
  }

  close(): void {
    if (this.closed) return;
    this.failAll(constants.errno.ECANCELED);
    this.closed = true;
    this.raw.close();
  }

  private call(
    type: number,
    flags: number,
    body: Buffer,
    desc: RequestDescription,
    opts: CallOptions,
    dump: boolean,
    onInterrupted?: () => void,
  ): Promise<NetlinkMessage[]> {
    opts.signal?.throwIfAborted();
    this.assertOpen(desc);
    const seq = this.nextSeq();
    const messages: NetlinkMessage[] = [];
    const answer = new Promise<NetlinkMessage[]>((resolve, reject) => {
      this.pending.set(seq, {
        messages,
        dump,
        interrupted: false,
        done(errno) {
          if (this.interrupted) onInterrupted?.();
          if (errno === 0) resolve(messages);
          else reject(kernelError(desc.op, desc.object, errno));
        },
      });
    });
    this.raw.ref();
    this.send(encodeMessage(type, flags, seq, body), [seq]);
    return bounded(answer, desc, opts).finally(() => {
      this.pending.delete(seq);
      this.unrefIfIdle();
    });
  }

  private send(buf: Buffer, seqs: readonly number[]): void {
    this.raw.send(buf, undefined, (err) => {
      if (!err) return;
      const errno = rawErrno(err);
      for (const seq of seqs) this.settle(seq, errno);
    });
  }

  private onDatagram(buf: Buffer): void {
    for (const msg of parseMessages(buf)) {
      const waiter = this.pending.get(msg.seq);
      if (!waiter) continue;
      if (msg.type === NLMSG_ERROR) {
        this.settle(msg.seq, msg.payload.length >= 4 ? -msg.payload.readInt32LE(0) : Errno.EINTR);
      } else if (msg.type === NLMSG_DONE) {
        if (waiter.dump) this.settle(msg.seq, msg.payload.length >= 4 ? -msg.payload.readInt32LE(0) : 0);
      } else if (msg.type >= NLMSG_MIN_TYPE && waiter.messages) {
        if (msg.flags & NLM_F_DUMP_INTR) waiter.interrupted = true;
        waiter.messages.push(msg);
      }
    }
  }

  private settle(seq: number, errno: number): void {
    const waiter = this.pending.get(seq);
    if (!waiter) return;
    this.pending.delete(seq);
    waiter.done(errno);
  }

  /** Replies were lost (ENOBUFS) or the socket failed: nothing pending can be trusted. */
  private failAll(errno: number): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, errno);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private unrefIfIdle(): void {
    if (this.pending.size === 0 && !this.closed) this.raw.unref();
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
