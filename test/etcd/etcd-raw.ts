/**
 * Direct calls to etcd's gateway for test set-up that the client under test does not offer
 * (bulk transactions, compaction, enabling auth). No keep-alive, so nothing lingers.
 */
import http from 'node:http';

export interface RawReply {
  status: number;
  body: Record<string, unknown>;
}

export function rawPost(endpoint: string, path: string, body: unknown, token?: string): Promise<RawReply> {
  const url = new URL(endpoint);
  const payload = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  if (token !== undefined) headers['authorization'] = token;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'POST', headers, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${path}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Puts all keys in one transaction (etcd must run with --max-txn-ops >= keys.length); returns its revision. */
export async function putMany(endpoint: string, entries: readonly { key: string; value: string; lease?: string }[]): Promise<number> {
  const success = entries.map((e) => ({ request_put: { key: b64(e.key), value: b64(e.value), ...(e.lease ? { lease: e.lease } : {}) } }));
  const r = await rawPost(endpoint, '/v3/kv/txn', { success });
  if (r.status !== 200) throw new Error(`bulk put: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return Number((r.body['header'] as { revision: string }).revision);
}

export async function compact(endpoint: string, revision: number): Promise<void> {
  const r = await rawPost(endpoint, '/v3/kv/compaction', { revision: String(revision), physical: true });
  if (r.status !== 200) throw new Error(`compaction: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
}

/** Adds user root with `password`, grants it the root role and turns auth on. */
export async function enableAuth(endpoint: string, password: string): Promise<void> {
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await rawPost(endpoint, path, body);
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  }
}
