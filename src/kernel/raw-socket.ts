import { constants } from 'node:os';
import { NETLINK_ROUTE } from './netlink-constants.js';
import { loadNetlinkRaw } from './netlink-native.js';

/**
 * The part of the `netlink` package we use: its native datagram socket (`RawNetlinkSocket`),
 * a non-blocking AF_NETLINK socket polled by libuv. Everything above it (framing, requests,
 * batching, rtnetlink encoding) is ours. Typed here rather than through the package's own
 * declarations, which pull in an old @types/node.
 */
export interface RawSocket {
  send(msg: Buffer | Buffer[], options: { port?: number } | undefined, callback: (err?: RawSocketError) => void): void;
  close(): void;
  on(event: 'message' | 'truncatedMessage', listener: (msg: Buffer, rinfo: { port: number; groups: number }) => void): this;
  on(event: 'error', listener: (err: RawSocketError) => void): this;
  ref(): void;
  unref(): void;
  addMembership(group: number): void;
  setRecvBufferSize(bytes: number): void;
  getRecvBufferSize(): number;
}

/** What the native layer throws or emits: an Error with the positive errno and its name. */
export interface RawSocketError extends Error {
  errno?: number;
  code?: string;
  syscall?: string;
}

type RawSocketCtor = new (protocol: number, options?: Record<string, unknown>) => RawSocket;

/**
 * Opens a netlink socket (NETLINK_ROUTE unless `protocol` says otherwise, e.g. NETLINK_GENERIC)
 * in the calling process's network namespace, bound to a unique
 * port. `receiveBufferBytes` is a request (the kernel caps it at net.core.rmem_max); it is
 * best effort. The socket starts unreferenced: it does not keep the process alive by itself.
 */
export function openRawSocket(opts: { receiveBufferBytes?: number; protocol?: number } = {}): RawSocket {
  const mod = loadNetlinkRaw() as { RawNetlinkSocket: RawSocketCtor };
  const raw = new mod.RawNetlinkSocket(opts.protocol ?? NETLINK_ROUTE, {});
  if (opts.receiveBufferBytes !== undefined) {
    try {
      raw.setRecvBufferSize(opts.receiveBufferBytes);
    } catch {
      // the kernel's default buffer still works; batches are windowed to fit it
    }
  }
  raw.unref();
  return raw;
}

/** The positive errno of a native socket error (EIO when it carries none). */
export function rawErrno(err: RawSocketError): number {
  if (typeof err.errno === 'number' && err.errno !== 0) return Math.abs(err.errno);
  const byName = err.code ? (constants.errno as Record<string, number>)[err.code] : undefined;
  return byName ?? constants.errno.EIO;
}
