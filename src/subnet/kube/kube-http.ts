/**
 * HTTP(S) requests to the API server over Node's own http/https with a keep-alive agent: TLS
 * from the connection (CA, client certificate, insecure-skip-tls-verify, tls-server-name),
 * credentials from a CredentialSource (one retry with fresh ones after a 401, when they may
 * have changed). Answers come back unread, so big bodies can be streamed.
 *
 * http and https are taken with process.getBuiltinModule rather than `import`: an ES import of
 * node:http builds its module namespace, which on Node 22+ reads the WebSocket getters and so
 * loads undici (~9 MiB of resident memory for nothing).
 */
import type { StoreMetrics } from '../../metrics/agent-metrics.js';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { KubeConnection } from './kube-connection.js';
import type { CredentialSource, RequestCredentials } from './kube-credentials.js';

export interface KubeRequest {
  readonly method: 'GET' | 'PATCH';
  /** Path and query, e.g. /api/v1/nodes?resourceVersion=0 */
  readonly path: string;
  readonly body?: string | undefined;
  readonly contentType?: string | undefined;
  readonly signal: AbortSignal;
  /**
   * On a new connection, not a kept-alive one: the idle connections of the pool are closed
   * first (any of them may be dead without a word: blackholed, its NAT entry lost). For watches,
   * which would otherwise be given up only after their silence deadline on such a connection.
   */
  readonly fresh?: boolean | undefined;
}

const USER_AGENT = 'flanneld (flannel-ts)';

export class KubeHttp {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;
  private readonly send: typeof import('node:http').request;

  constructor(
    private readonly conn: KubeConnection,
    private readonly creds: CredentialSource,
    /** Requests, errors and reconnects (flannel_store_*{store="kube"}). */
    private readonly metrics?: StoreMetrics,
  ) {
    this.secure = conn.server.startsWith('https:');
    const mod = this.secure ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
    this.agent = new mod.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });
    this.send = mod.request as typeof import('node:http').request;
  }

  /** Sends the request; resolves when the response's head is in (its body unread). */
  async open(req: KubeRequest): Promise<IncomingMessage> {
    const m = this.metrics;
    if (!m) return this.openOnce(req);
    try {
      const res = await this.openOnce(req);
      // An answer after requests that got none: the API server is reachable again.
      if (this.unanswered) m.storeReconnect('kube');
      this.unanswered = false;
      m.storeRequest('kube', (res.statusCode ?? 0) < 400 ? 'ok' : 'error');
      return res;
    } catch (err) {
      if (!req.signal.aborted) this.unanswered = true;
      m.storeRequest('kube', 'error');
      throw err;
    }
  }

  private unanswered = false;

  private async openOnce(req: KubeRequest): Promise<IncomingMessage> {
    let used = await this.creds.get(req.signal);
    let res = await this.once(req, used);
    if (res.statusCode === 401 && this.creds.rejected(used)) {
      res.resume();
      used = await this.creds.get(req.signal);
      res = await this.once(req, used);
    }
    return res;
  }

  private once(req: KubeRequest, creds: RequestCredentials): Promise<IncomingMessage> {
    const url = new URL(this.conn.server + req.path);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (creds.authorization) headers['Authorization'] = creds.authorization;
    if (req.body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(req.body));
    }
    // Not `signal`: on Node 20 an abort after the response has ended reaches the kept-alive
    // socket back in the pool, which has no 'error' listener (an uncaught exception).
    const options: RequestOptions = { method: req.method, headers, agent: this.agent };
    if (this.secure) {
      const tls = this.conn.tls;
      options.rejectUnauthorized = !tls.insecure;
      if (tls.ca) options.ca = tls.ca;
      const cert = creds.cert ?? tls.cert;
      const key = creds.cert ? creds.key : tls.key;
      if (cert && key) {
        options.cert = cert;
        options.key = key;
      }
      if (tls.serverName) options.servername = tls.serverName;
    }
    const { signal } = req;
    signal.throwIfAborted();
    return new Promise<IncomingMessage>((resolve, reject) => {
      let response: IncomingMessage | undefined;
      // Closed just before the request takes a socket (synchronously): the agent skips destroyed
      // idle sockets, so none is free and it connects anew.
      if (req.fresh) this.closeIdle();
      const r = this.send(url, options, (res) => {
        response = res;
        resolve(res);
      });
      const onAbort = () => {
        const err = new DOMException('The operation was aborted', { name: 'AbortError', cause: signal.reason });
        // A response already complete (its socket maybe back in the pool) is ended on our side only.
        if (response?.complete) response.destroy(err);
        else r.destroy(err);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      r.on('close', () => signal.removeEventListener('abort', onAbort));
      r.on('error', reject);
      r.end(req.body);
    });
  }

  /** Closes the pool's idle kept-alive connections (those in use are left alone). */
  closeIdle(): void {
    for (const sockets of Object.values(this.agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
  }

  /** Closes idle kept-alive connections (and any still in use). */
  close(): void {
    this.agent.destroy();
  }
}

/** Reads a (small) body as text, at most `limit` bytes kept. */
export async function readText(res: IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(c);
    size += c.length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
