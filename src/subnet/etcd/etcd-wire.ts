/**
 * The JSON shapes of etcd's v3 gRPC-gateway (etcdserverpb as proto3 JSON): bytes are base64,
 * int64 fields are decimal strings, and fields holding their zero value are omitted.
 */
import type { KeyValue, WatchEvent } from './etcd-types.js';

export interface WireHeader {
  revision?: string;
}

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface WireRangeResponse {
  header?: WireHeader;
  kvs?: WireKeyValue[];
  more?: boolean;
  count?: string;
}

export interface WireEvent {
  /** Absent for PUT (the enum's zero value). */
  type?: 'PUT' | 'DELETE';
  kv?: WireKeyValue;
}

export interface WireWatchResponse {
  header?: WireHeader;
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: WireEvent[];
}

/** The body of a gateway error: unary calls send it as is, streams wrap it in `error`. */
export interface WireError {
  error?: string;
  message?: string;
  code?: number;
  grpc_code?: number;
  http_code?: number;
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function b64Bytes(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function fromB64(data: string | undefined): string {
  return data === undefined ? '' : Buffer.from(data, 'base64').toString('utf8');
}

/** An int64 field (string, number or absent = 0) as a number. */
export function int(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

export function headerRevision(body: { header?: WireHeader } | undefined): number {
  return int(body?.header?.revision);
}

/** range_end for "every key starting with prefix": the prefix with its last byte plus one. */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return b64Bytes(end);
    }
  }
  // Empty prefix or all 0xff: "\0" means "to the end of the keyspace".
  return b64Bytes(Uint8Array.of(0));
}

/** The smallest key after `key` (base64 in, base64 out): key + "\0". */
export function keyAfter(keyB64: string): string {
  const key = Buffer.from(keyB64, 'base64');
  return b64Bytes(Buffer.concat([key, Uint8Array.of(0)]));
}

export function decodeKeyValue(kv: WireKeyValue): KeyValue {
  return {
    key: fromB64(kv.key),
    value: fromB64(kv.value),
    createRevision: int(kv.create_revision),
    modRevision: int(kv.mod_revision),
    version: int(kv.version),
    lease: kv.lease ?? '0',
  };
}

/**
 * decodeKeyValue() for many key-values in a row (a range reply read element by element): every
 * key and value is decoded through one scratch buffer, grown to the longest field seen,
 * instead of a Buffer each.
 */
export class KeyValueDecoder {
  private scratch = Buffer.allocUnsafe(0);

  decode(kv: WireKeyValue): KeyValue {
    return {
      key: this.text(kv.key),
      value: this.text(kv.value),
      createRevision: int(kv.create_revision),
      modRevision: int(kv.mod_revision),
      version: int(kv.version),
      lease: kv.lease ?? '0',
    };
  }

  private text(data: string | undefined): string {
    if (data === undefined) return '';
    // base64 decodes to at most 3 bytes per 4 characters (more only for malformed text: +3).
    const need = Math.ceil(data.length / 4) * 3 + 3;
    if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(Math.max(need, 256));
    return this.scratch.toString('utf8', 0, this.scratch.write(data, 0, 'base64'));
  }
}

/** decodeKeyValue() of each of `kvs`, appended to `out`. */
export function decodeKeyValues(kvs: readonly WireKeyValue[], out: KeyValue[]): void {
  const d = new KeyValueDecoder();
  for (const kv of kvs) out.push(d.decode(kv));
}

export function decodeEvent(ev: WireEvent): WatchEvent {
  return { type: ev.type === 'DELETE' ? 'delete' : 'put', kv: decodeKeyValue(ev.kv ?? {}) };
}

/** A put request body; the lease is left out when there is none. */
export function putRequest(key: string, value: string, lease: string | undefined): Record<string, string> {
  const req: Record<string, string> = { key: b64(key), value: b64(value) };
  if (lease !== undefined && lease !== '0') req['lease'] = lease;
  return req;
}
