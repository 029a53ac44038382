import { KernelBatchError, type KernelError } from '../errors.js';
import { kernelError } from './kernel-errors.js';
import type { BatchRequest, CallOptions, NetlinkSocket } from './netlink-socket.js';

/** How one kind of object goes into a batch: its message, its description, and which errnos count as success. */
export interface BatchSpec<T> {
  op: string;
  encode(item: T): BatchRequest;
  describe(item: T): string;
  /** Errnos that mean success here (EEXIST for ensure, ENOENT/ESRCH for delete). */
  okErrnos?: ReadonlySet<number>;
}

/**
 * Pipelines one request per item and throws KernelBatchError listing every failure (each a
 * KernelError naming its object). All items are attempted even when some fail.
 */
export async function runBatch<T>(
  nl: NetlinkSocket,
  items: readonly T[],
  spec: BatchSpec<T>,
  opts: CallOptions = {},
): Promise<void> {
  if (items.length === 0) return;
  const requests = items.map((item) => spec.encode(item));
  const errnos = await nl.batch(requests, { op: spec.op, object: `${items.length} objects` }, opts);
  const failures: KernelError[] = [];
  errnos.forEach((errno, i) => {
    if (errno === 0 || spec.okErrnos?.has(errno)) return;
    failures.push(kernelError(spec.op, spec.describe(items[i] as T), errno));
  });
  if (failures.length > 0) throw new KernelBatchError(spec.op, failures, items.length);
}
