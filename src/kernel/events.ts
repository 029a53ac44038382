import type { KernelError } from '../errors.js';
import { parseAddress, type InterfaceAddress } from './address.js';
import { toFdbEntry, type FdbEntry } from './fdb.js';
import { Errno, kernelError } from './kernel-errors.js';
import { parseLink, type Link } from './link.js';
import { needHeader, parseMessages, type NetlinkMessage } from './netlink-codec.js';
import * as C from './netlink-constants.js';
import { parseNeighborMessage, toNeighbor, type Neighbor } from './neighbor.js';
import { openRawSocket, rawErrno, type RawSocket, type RawSocketError } from './raw-socket.js';
import { parseRoute, type Route } from './route.js';

export type KernelEventGroup = 'link' | 'address' | 'route' | 'neighbor';
export type KernelEventAction = 'new' | 'delete';

/** A change the kernel announced. `overflow` means events were lost: re-list and reconcile. */
export type KernelEvent =
  | { kind: 'link'; action: KernelEventAction; link: Link }
  | { kind: 'address'; action: KernelEventAction; address: InterfaceAddress }
  | { kind: 'route'; action: KernelEventAction; route: Route }
  | { kind: 'neighbor'; action: KernelEventAction; neighbor: Neighbor }
  | { kind: 'fdb'; action: KernelEventAction; fdb: FdbEntry }
  | { kind: 'overflow' };

const GROUPS: Record<KernelEventGroup, number[]> = {
  link: [C.RTNLGRP_LINK],
  address: [C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
  neighbor: [C.RTNLGRP_NEIGH],
};

const DEFAULT_MAX_QUEUED = 65_536;

/** Turns one multicast message into an event (undefined for what we do not model). */
export function toKernelEvent(msg: NetlinkMessage): KernelEvent | undefined {
  switch (msg.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return { kind: 'link', action: msg.type === C.RTM_NEWLINK ? 'new' : 'delete', link: parseLink(msg) };
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR: {
      const address = parseAddress(msg);
      return address && { kind: 'address', action: msg.type === C.RTM_NEWADDR ? 'new' : 'delete', address };
    }
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE: {
      needHeader(msg.payload, 12, 'route');
      if (msg.payload.readUInt32LE(8) & C.RTM_F_CLONED) return undefined;
      const route = parseRoute(msg);
      return route && { kind: 'route', action: msg.type === C.RTM_NEWROUTE ? 'new' : 'delete', route };
    }
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH: {
      const action = msg.type === C.RTM_NEWNEIGH ? 'new' : 'delete';
      const m = parseNeighborMessage(msg);
      const neighbor = toNeighbor(m);
      if (neighbor) return { kind: 'neighbor', action, neighbor };
      const fdb = toFdbEntry(m);
      return fdb && { kind: 'fdb', action, fdb };
    }
    default:
      return undefined;
  }
}

/**
 * A subscription to rtnetlink multicast groups: an async iterable of KernelEvents. Joined
 * when constructed, so changes made after `subscribe()` returns are seen. Ends when the
 * signal aborts or close() is called. Keeps the process alive while open.
 */
export class KernelEventStream implements AsyncIterable<KernelEvent> {
  private readonly raw: RawSocket;
  private readonly queue: KernelEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: KernelError | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(
    readonly groups: readonly KernelEventGroup[],
    private readonly opts: { signal?: AbortSignal; maxQueued?: number } = {},
  ) {
    opts.signal?.throwIfAborted();
    this.raw = openRawSocket({ receiveBufferBytes: 4 << 20 });
    this.raw.on('message', (buf) => this.onDatagram(buf));
    this.raw.on('truncatedMessage', () => this.push({ kind: 'overflow' }));
    this.raw.on('error', (err) => this.onError(err));
    try {
      for (const g of groups) for (const id of GROUPS[g]) this.raw.addMembership(id);
    } catch (err) {
      this.raw.close();
      throw kernelError('subscribe', groups.join(','), rawErrno(err as RawSocketError), { notFound: false });
    }
    this.raw.ref();
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.raw.close();
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<KernelEvent> {
    try {
      while (true) {
        if (this.head < this.queue.length) {
          const ev = this.queue[this.head++] as KernelEvent;
          if (this.head === this.queue.length) this.queue.length = this.head = 0;
          yield ev;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.close();
    }
  }

  private onDatagram(buf: Buffer): void {
    for (const msg of parseMessages(buf)) {
      let ev: KernelEvent | undefined;
      try {
        ev = toKernelEvent(msg);
      } catch {
        // A message we cannot read (thrown from a socket callback, it would end the process):
        // say that something changed, so that the consumer re-lists.
        ev = { kind: 'overflow' };
      }
      if (ev) this.push(ev);
    }
  }

  private push(ev: KernelEvent): void {
    if (this.closed) return;
    if (this.queue.length - this.head >= (this.opts.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      // The consumer is too slow: drop what is queued and tell it to re-list.
      this.queue.length = this.head = 0;
      this.queue.push({ kind: 'overflow' });
    } else {
      this.queue.push(ev);
    }
    this.notify();
  }

  private onError(err: RawSocketError): void {
    const errno = rawErrno(err);
    if (errno === Errno.ENOBUFS) {
      this.push({ kind: 'overflow' });
      return;
    }
    this.failure = kernelError('receive events', this.groups.join(','), errno, { notFound: false });
    this.close();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}


/** Equivalent to: `ip monitor link address route neigh` (choose the groups). */
export function subscribe(
  groups: readonly KernelEventGroup[],
  opts: { signal?: AbortSignal; maxQueued?: number } = {},
): KernelEventStream {
  return new KernelEventStream(groups, opts);
}
