import { AttrWriter } from './netlink-codec.js';
import { NLM_F_ACK, NLM_F_REQUEST } from './netlink-constants.js';

/**
 * The requests of a batch, encoded only when their chunk goes out: `write(w, i)` appends
 * request i to `w` as one whole message (w.beginMessage(type, flags) ... w.endMessage()).
 * The socket sets its sequence number and the REQUEST and ACK flags.
 */
export interface BatchSource {
  readonly count: number;
  write(w: AttrWriter, i: number): void;
}

/**
 * A chunk of a batch in flight: sequence numbers first..first+count-1 are requests
 * base..base+count-1 of the batch, whose errnos go to `results`. One object per chunk, none
 * per request.
 */
export interface Chunk {
  readonly first: number;
  readonly count: number;
  readonly base: number;
  readonly results: Int32Array;
  readonly settle: () => void;
}

/** Initial size of a chunk's buffer: 256 route, neighbour or FDB messages fit. */
const CHUNK_BYTES = 16 << 10;
/** A result slot whose request has had no answer yet (errnos are small positive numbers). */
const UNANSWERED = -0x80000000;

/** A writer for a batch's chunks, sized for one chunk (it grows if a chunk needs more). */
export function chunkWriter(): AttrWriter {
  return new AttrWriter(undefined, CHUNK_BYTES);
}

/**
 * Writes requests base..base+count-1 of `source` into `w` (emptied first), numbered from
 * `first`; only the last asks for an ACK, the barrier that ends the chunk. The result is a view
 * of w's buffer: a batch reuses one writer, writing a chunk once the one before is answered
 * (the kernel has then read it), so 15,000 requests use one buffer, not sixty.
 */
export function writeChunk(source: BatchSource, base: number, count: number, first: number, w: AttrWriter = chunkWriter()): Buffer {
  w.reset();
  for (let i = 0; i < count; i++) {
    const start = w.length;
    source.write(w, base + i);
    w.stampMessage(start, first + i, NLM_F_REQUEST | (i === count - 1 ? NLM_F_ACK : 0));
  }
  return w.toBuffer();
}

/** The chunks in flight on one socket (one per batch running), matched to answers by sequence number. */
export class ChunkTable {
  private readonly chunks = new Set<Chunk>();

  get size(): number {
    return this.chunks.size;
  }

  /** Registers a chunk; its result slots are unanswered until the kernel says otherwise. */
  add(chunk: Chunk): void {
    chunk.results.fill(UNANSWERED, chunk.base, chunk.base + chunk.count);
    this.chunks.add(chunk);
  }

  has(chunk: Chunk): boolean {
    return this.chunks.has(chunk);
  }

  /** Forgets a chunk without settling it (its batch timed out or was aborted). */
  delete(chunk: Chunk): void {
    this.chunks.delete(chunk);
  }

  /**
   * An NLMSG_ERROR for sequence number `seq`: the errno of its request, and the end of its
   * chunk when it is the last (ACKed) one. False when no chunk holds `seq`.
   */
  answer(seq: number, errno: number): boolean {
    for (const c of this.chunks) {
      const i = (seq - c.first) >>> 0;
      if (i >= c.count) continue;
      if (c.results[c.base + i] === UNANSWERED) c.results[c.base + i] = errno;
      if (i === c.count - 1) this.finish(c, 0);
      return true;
    }
    return false;
  }

  /** Ends a chunk: requests with no answer get `errno` (0 at the ACK: they succeeded silently). */
  finish(c: Chunk, errno: number): void {
    this.chunks.delete(c);
    for (let k = c.base; k < c.base + c.count; k++) if (c.results[k] === UNANSWERED) c.results[k] = errno;
    c.settle();
  }

  /** Ends every chunk with `errno` for its unanswered requests (lost replies, a failed socket). */
  failAll(errno: number): void {
    for (const c of [...this.chunks]) this.finish(c, errno);
  }
}
