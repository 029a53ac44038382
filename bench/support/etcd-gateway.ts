/**
 * Bench-side calls to etcd over its unix socket that the product's client does not offer:
 * multi-put transactions for bulk loading, and the Prometheus /metrics page (request counts).
 */
import http from 'node:http';
import { HarnessError } from '../../test/support/errors.js';

/** etcd's default --max-txn-ops is 128; the harness's etcd keeps the default. */
export const PUTS_PER_TXN = 128;
const REQUEST_TIMEOUT_MS = 15_000;

function request(socketPath: string, method: 'GET' | 'POST', path: string, body: string | undefined, signal: AbortSignal): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request({ socketPath, path, method, headers, agent: false, timeout: REQUEST_TIMEOUT_MS, signal }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new HarnessError(`${method} ${path} via ${socketPath}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export interface BulkEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * Puts every entry, bound to etcd lease `lease`, in transactions of PUTS_PER_TXN puts, at most
 * `concurrency` in flight. Resolves to the number of requests made.
 */
export async function bulkPut(socketPath: string, entries: readonly BulkEntry[], lease: string, opts: { signal: AbortSignal; concurrency?: number }): Promise<number> {
  const chunks: BulkEntry[][] = [];
  for (let i = 0; i < entries.length; i += PUTS_PER_TXN) chunks.push(entries.slice(i, i + PUTS_PER_TXN));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] ?? [];
      const success = chunk.map((e) => ({ request_put: { key: b64(e.key), value: b64(e.value), lease } }));
      const r = await request(socketPath, 'POST', '/v3/kv/txn', JSON.stringify({ success }), opts.signal);
      if (r.status !== 200) throw new HarnessError(`bulk put of ${chunk.length} keys: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  return chunks.length;
}

/** gRPC calls etcd has started, by method ('Range', 'Txn', 'Watch', ...), from /metrics. */
export async function grpcCallCounts(socketPath: string, signal: AbortSignal): Promise<Map<string, number>> {
  const r = await request(socketPath, 'GET', '/metrics', undefined, signal);
  if (r.status !== 200) throw new HarnessError(`GET /metrics via ${socketPath}: HTTP ${r.status}`);
  const counts = new Map<string, number>();
  for (const line of r.text.split('\n')) {
    if (!line.startsWith('grpc_server_started_total{')) continue;
    const method = /grpc_method="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (method !== undefined && Number.isFinite(value)) counts.set(method, (counts.get(method) ?? 0) + value);
  }
  return counts;
}

/** after − before, per method, dropping zeros. */
export function countDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}
