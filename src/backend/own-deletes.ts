import type { KernelEvent } from '../kernel/events.js';
import { fdbKey, neighborKey, routeKey, type EntryKey } from './peer-entries.js';

type DeletedKind = 'route' | 'neighbor' | 'fdb';

/** More than this many remembered deletes (a large apply runs with events closed anyway): forget them all. */
const MAX_PENDING = 4096;

/**
 * The entries the peer loop deleted itself (a peer left, a VtepMAC changed), remembered for a
 * few seconds: the kernel notifies each of those deletes, and without this every one of them
 * looked like an outside change and cost a full reconcile (a dump of every route, neighbour
 * and FDB entry). A delete nobody here asked for is still answered by a reconcile.
 */
export class OwnDeletes {
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remembers deletes about to be made. */
  note(kind: DeletedKind, keys: readonly EntryKey[]): void {
    if (keys.length === 0) return;
    const t = this.now();
    this.prune(t);
    if (this.pending.size + keys.length > MAX_PENDING) {
      this.pending.clear();
      return;
    }
    for (const k of keys) this.pending.set(`${kind}|${k}`, t + this.ttlMs);
  }

  /** Whether `ev` notifies a delete of ours (each is taken once). */
  take(ev: KernelEvent): boolean {
    if (this.pending.size === 0 || ev.kind === 'overflow' || ev.action !== 'delete') return false;
    let id: string;
    switch (ev.kind) {
      case 'route':
        id = `route|${routeKey(ev.route)}`;
        break;
      case 'neighbor':
        id = `neighbor|${neighborKey(ev.neighbor)}`;
        break;
      case 'fdb':
        id = `fdb|${fdbKey(ev.fdb)}`;
        break;
      default:
        return false;
    }
    const deadline = this.pending.get(id);
    if (deadline === undefined) return false;
    this.pending.delete(id);
    return deadline >= this.now();
  }

  get size(): number {
    return this.pending.size;
  }

  private prune(t: number): void {
    for (const [k, deadline] of this.pending) if (deadline < t) this.pending.delete(k);
  }
}
