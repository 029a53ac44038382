import { KernelBatchError, type KernelError } from '../errors.js';
import { kernelError, NOT_FOUND_ERRNOS } from './kernel-errors.js';
import * as C from './netlink-constants.js';
import { AttrWriter } from './netlink-codec.js';
import type { BatchSource, CallOptions, NetlinkSocket } from './netlink-socket.js';

/** How one kind of object goes into a batch: its message, its description, and which errnos count as success. */
export interface BatchSpec<T> {
  op: string;
  /** Message type and flags (beyond REQUEST/ACK, which the socket sets). */
  type: number;
  flags: number;
  /** Writes the message body (fixed family header and attributes) of one item. */
  write(w: AttrWriter, item: T): void;
  describe(item: T): string;
  /** Errnos that mean success here (EEXIST for ensure, ENOENT/ESRCH for delete). */
  okErrnos?: ReadonlySet<number>;
}

/**
 * The replace and delete specs of one kind of object: replace = NEW with CREATE|REPLACE,
 * delete = DEL where "not found" is success. `write` gets whether the message is a delete.
 */
export function replaceAndDeleteSpecs<T>(o: {
  noun: string;
  newType: number;
  delType: number;
  write: (w: AttrWriter, item: T, del: boolean) => void;
  describe: (item: T) => string;
}): { replace: BatchSpec<T>; delete: BatchSpec<T> } {
  return {
    replace: {
      op: `replace ${o.noun}`,
      type: o.newType,
      flags: C.NLM_F_CREATE | C.NLM_F_REPLACE,
      write: (w, item) => o.write(w, item, false),
      describe: o.describe,
    },
    delete: {
      op: `delete ${o.noun}`,
      type: o.delType,
      flags: 0,
      write: (w, item) => o.write(w, item, true),
      describe: o.describe,
      okErrnos: NOT_FOUND_ERRNOS,
    },
  };
}

/** The body of one item's message, on its own (for the single-request calls). */
export function encodeBody<T>(spec: BatchSpec<T>, item: T): Buffer {
  const w = new AttrWriter();
  spec.write(w, item);
  return w.toBuffer();
}

/**
 * Pipelines one request per item and throws KernelBatchError listing every failure (each a
 * KernelError naming its object). All items are attempted even when some fail. Messages are
 * encoded a chunk at a time as the chunks go out; every item is first encoded once into one
 * scratch buffer, so that an item that cannot be encoded (a bad MAC) throws before anything
 * is sent, as when all were encoded up front.
 */
export async function runBatch<T>(
  nl: NetlinkSocket,
  items: readonly T[],
  spec: BatchSpec<T>,
  opts: CallOptions = {},
): Promise<void> {
  if (items.length === 0) return;
  const scratch = new AttrWriter(undefined, 256);
  for (const item of items) spec.write(scratch.reset(), item);
  const source: BatchSource = {
    count: items.length,
    write(w, i) {
      const start = w.beginMessage(spec.type, spec.flags);
      spec.write(w, items[i] as T);
      w.endMessage(start);
    },
  };
  const errnos = await nl.batchFrom(source, { op: spec.op, object: `${items.length} objects` }, opts);
  let failures: KernelError[] | undefined;
  for (let i = 0; i < errnos.length; i++) {
    const errno = errnos[i] as number;
    if (errno === 0 || spec.okErrnos?.has(errno)) continue;
    (failures ??= []).push(kernelError(spec.op, spec.describe(items[i] as T), errno));
  }
  if (failures) throw new KernelBatchError(spec.op, failures, items.length);
}
