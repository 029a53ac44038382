/**
 * A stand-in Kubernetes API server over node:http(s), speaking the real protocol for what
 * flanneld uses, so flanneld's own client (src/subnet/kube/kube-client.ts) is driven against the
 * wire protocol rather than a mock.
 * Each behaviour follows the Kubernetes API reference:
 *
 * - Node v1 operations (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/):
 *   `GET /api/v1/nodes` (list: a NodeList whose metadata.resourceVersion is the store's; items
 *   without kind/apiVersion, as the real server sends them), `GET /api/v1/nodes/{name}`,
 *   `PATCH /api/v1/nodes/{name}` (metadata and spec; status changes are dropped, as the node
 *   strategy does) and `PATCH /api/v1/nodes/{name}/status` (metadata and status; spec changes
 *   are dropped, as the node status strategy does, which is why flannel can publish annotations
 *   through nodes/status). A patch that changes nothing writes nothing (no new version, no event).
 * - Pod v1 `GET /api/v1/namespaces/{ns}/pods/{name}` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/).
 * - Watch ("API Concepts", https://kubernetes.io/docs/reference/using-api/api-concepts/,
 *   "Efficient detection of changes", "Watch bookmarks", "Semantics for watch"): `?watch=true`
 *   streams one JSON event per line, `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":..}`;
 *   resourceVersion unset or "0" starts with synthetic ADDED events for every node, a given
 *   version starts right after it; `allowWatchBookmarks=true` gets BOOKMARK events (an object
 *   with only kind, apiVersion and metadata.resourceVersion); `timeoutSeconds` ends the stream.
 *   A version older than the history ("410 Gone responses") gets, as from the watch cache, HTTP
 *   200 and one ERROR event with a Status of code 410, reason "Expired" (or, with
 *   `expiredAs: 'status'`, an HTTP 410 response).
 * - Patch formats (merge-patch.ts): application/merge-patch+json and
 *   application/strategic-merge-patch+json; other types get 415.
 * - Errors are Status objects (API conventions, "Response Status Kind",
 *   https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind).
 * - Authentication (https://kubernetes.io/docs/reference/access-authn-authz/authentication/):
 *   "Putting a Bearer Token in a Request" (`tokens`); "X509 client certificates" (`clientCa`:
 *   a verified client certificate's CN is the user name); HTTP basic auth (`basicUsers`; the
 *   real API server dropped it in 1.19, but kubeconfigs still carry username/password for
 *   servers behind authenticating proxies). A request with no known credentials is 401
 *   Unauthorized (unless `anonymous`). Authorization
 *   (https://kubernetes.io/docs/reference/access-authn-authz/authorization/, "Review your
 *   request attributes"): each request is classified into verb (get, list, watch, patch) and
 *   resource ("nodes", "nodes/status", "pods"); forbid() makes chosen ones 403 Forbidden with
 *   the API server's message.
 *
 * Fault injection: dropWatches() (connections cut), expireWatches() (410 in the stream),
 * compact(), failNextWatches(), forbid(). Every request is recorded (verb, resource, user).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { jsonMergePatch, strategicMergePatch } from './merge-patch.js';
import { NodeStore, type NodeObject, type StoredEvent } from './node-store.js';
import { classify, statusBody, type RequestInfo } from './request-info.js';

export interface FakeKubeApiServerOptions {
  /** Bearer token -> user name. */
  tokens?: Record<string, string>;
  /** Accept requests without a token as system:anonymous. */
  anonymous?: boolean;
  /** Serve HTTPS with this certificate (PEM). */
  tls?: { cert: string; key: string };
  /** With tls: ask for client certificates and accept those this CA (PEM) signed; CN = user. */
  clientCa?: string;
  /** "username:password" -> user name, for HTTP basic auth. */
  basicUsers?: Record<string, string>;
  /** Send a BOOKMARK this often to watches that allow them (0: only on sendBookmarks()). */
  bookmarkIntervalMs?: number;
  /** How an expired watch version is answered: an ERROR event (default, as the watch cache) or HTTP 410. */
  expiredAs?: 'event' | 'status';
}

export interface RecordedRequest extends RequestInfo {
  readonly method: string;
  readonly url: string;
  readonly user: string;
  readonly contentType: string | undefined;
  status: number;
}

interface OpenWatch {
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  readonly unsubscribe: () => void;
  readonly timer: NodeJS.Timeout | undefined;
}

export class FakeKubeApiServer {
  readonly store = new NodeStore();
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly watches = new Set<OpenWatch>();
  private readonly forbidden: Array<{ user?: string; verb?: string; resource?: string }> = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private failWatches: { n: number; how: 'expired' | 'drop' } = { n: 0, how: 'drop' };
  private baseUrl = '';
  /** TCP (or TLS) connections accepted so far: keep-alive reuse shows as fewer connections than requests. */
  connections = 0;

  constructor(private readonly opts: FakeKubeApiServerOptions = {}) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = opts.tls
      ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key, ...(opts.clientCa ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: false } : {}) }, handler)
      : createHttpServer(handler);
    this.server.on(opts.tls ? 'secureConnection' : 'connection', () => this.connections++);
    if (opts.bookmarkIntervalMs) {
      this.bookmarkTimer = setInterval(() => this.sendBookmarks(), opts.bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
  }

  /** Listens on host:port (port 0: any), or on a listening handle made elsewhere (another netns). */
  async listen(where: { host: string; port: number } | { handle: NetServer; host: string }): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      if ('handle' in where) this.server.listen(where.handle, () => resolve());
      else this.server.listen(where.port, where.host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    const host = where.host.includes(':') ? `[${where.host}]` : where.host;
    this.baseUrl = `${this.opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    return this.baseUrl;
  }

  get url(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- test controls ----------------------------------------------------------------------

  /** Makes matching requests 403 Forbidden (omitted fields match anything). */
  forbid(rule: { user?: string; verb?: string; resource?: string }): void {
    this.forbidden.push(rule);
  }

  allowAll(): void {
    this.forbidden.length = 0;
  }

  /** Cuts every open watch connection (the client sees the stream end abruptly). */
  dropWatches(): void {
    for (const w of [...this.watches]) this.endWatch(w, true);
  }

  /** Sends every open watch an ERROR event with a 410 Expired Status, then ends it. */
  expireWatches(): void {
    for (const w of [...this.watches]) {
      w.res.write(JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', 'too old resource version') }) + '\n');
      this.endWatch(w, false);
    }
  }

  /** The next n watch requests fail: cut at once ('drop') or answered as expired ('expired'). */
  failNextWatches(n: number, how: 'expired' | 'drop'): void {
    this.failWatches = { n, how };
  }

  compact(): void {
    this.store.compact();
  }

  sendBookmarks(): void {
    const line = JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: this.store.resourceVersion } } }) + '\n';
    for (const w of this.watches) if (w.bookmarks) w.res.write(line);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Requests matching verb and resource. */
  count(verb: string, resource: string): number {
    return this.requests.filter((r) => r.verb === verb && r.resource === resource).length;
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const info = classify(req.method ?? 'GET', url);
    const user = this.authenticate(req);
    const rec: RecordedRequest = { ...info, method: req.method ?? '', url: req.url ?? '', user: user ?? '', contentType: req.headers['content-type'], status: 0 };
    this.requests.push(rec);
    const reply = (code: number, body: unknown) => {
      rec.status = code;
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (user === undefined) return reply(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    if (this.isForbidden(user, info)) {
      const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
      const [resource, sub] = info.resource.split('/');
      const what = sub ? `resource "${resource}/${sub}"` : `resource "${resource}"`;
      return reply(403, statusBody(403, 'Forbidden', `${info.resource} ${info.name ? `"${info.name}" ` : ''}is forbidden: User "${user}" cannot ${info.verb} ${what} in API group "" ${scope}`, { name: info.name, kind: resource }));
    }
    const body = await readBody(req);
    switch (`${info.verb} ${info.resource}`) {
      case 'list nodes':
        return reply(200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: this.store.resourceVersion }, items: this.store.list() });
      case 'watch nodes':
        rec.status = 200;
        return this.watch(url, res, rec);
      case 'get nodes': {
        const n = this.store.get(info.name);
        return n ? reply(200, withKind(n)) : reply(404, notFound('nodes', info.name));
      }
      case 'patch nodes':
      case 'patch nodes/status':
        return this.patch(info, req.headers['content-type'], body, reply);
      case 'get pods': {
        const pod = this.store.pods.get(`${info.namespace}/${info.name}`);
        return pod ? reply(200, { kind: 'Pod', apiVersion: 'v1', ...pod }) : reply(404, notFound('pods', info.name));
      }
      default:
        return reply(404, statusBody(404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`));
    }
  }

  private authenticate(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/.exec(auth);
    if (bearer) return this.opts.tokens?.[bearer[1] ?? ''];
    const basic = /^Basic\s+(\S+)$/.exec(auth);
    if (basic) return this.opts.basicUsers?.[Buffer.from(basic[1] ?? '', 'base64').toString('utf8')];
    const socket = req.socket as TLSSocket;
    if (this.opts.clientCa && socket.authorized) {
      const cn = socket.getPeerCertificate().subject?.CN;
      if (typeof cn === 'string' && cn !== '') return cn;
    }
    return auth === '' && this.opts.anonymous ? 'system:anonymous' : undefined;
  }

  private isForbidden(user: string, info: RequestInfo): boolean {
    return this.forbidden.some((r) => (!r.user || r.user === user) && (!r.verb || r.verb === info.verb) && (!r.resource || r.resource === info.resource));
  }

  private patch(info: RequestInfo, contentType: string | undefined, body: string, reply: (code: number, body: unknown) => void): void {
    const type = (contentType ?? '').split(';')[0]?.trim();
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
      return reply(415, statusBody(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`));
    }
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      return reply(400, statusBody(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`));
    }
    const old = this.store.get(info.name);
    if (!old) return reply(404, notFound('nodes', info.name));
    const wantRV = (patch as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
    if (typeof wantRV === 'string' && wantRV !== old.metadata.resourceVersion) {
      return reply(409, statusBody(409, 'Conflict', `Operation cannot be fulfilled on nodes "${info.name}": the object has been modified; please apply your changes to the latest version and try again`));
    }
    const apply = type === 'application/merge-patch+json' ? jsonMergePatch : strategicMergePatch;
    const patched = apply(old as never, patch as never) as unknown as NodeObject;
    // The node strategies: the main resource ignores status, the status subresource ignores spec.
    if (info.resource === 'nodes') patched.status = old.status;
    else patched.spec = old.spec;
    reply(200, withKind(this.store.replace(info.name, patched)));
  }

  private watch(url: URL, res: ServerResponse, rec: RecordedRequest): void {
    const q = url.searchParams;
    const rvText = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (this.failWatches.n > 0) {
      this.failWatches.n--;
      if (this.failWatches.how === 'drop') {
        res.socket?.destroy();
        return;
      }
      return this.expired(res, rvText, rec);
    }
    const from = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (from !== undefined && (!Number.isInteger(from) || !this.store.canWatchFrom(from))) return this.expired(res, rvText, rec);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (ev: StoredEvent) => res.write(JSON.stringify({ type: ev.type, object: withKind(ev.object) }) + '\n');
    if (from === undefined) {
      for (const n of this.store.list()) res.write(JSON.stringify({ type: 'ADDED', object: withKind(n) }) + '\n');
    } else {
      for (const ev of this.store.eventsAfter(from)) send(ev);
    }
    const timer = timeoutSeconds > 0 ? setTimeout(() => this.endWatch(w, false), timeoutSeconds * 1000) : undefined;
    const w: OpenWatch = { res, bookmarks, unsubscribe: this.store.subscribe(send), timer };
    this.watches.add(w);
    res.on('close', () => this.endWatch(w, false));
  }

  private expired(res: ServerResponse, rvText: string, rec: RecordedRequest): void {
    const status = statusBody(410, 'Expired', `too old resource version: ${rvText} (${this.store.resourceVersion})`);
    if (this.opts.expiredAs === 'status') {
      rec.status = 410;
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
  }

  private endWatch(w: OpenWatch, abrupt: boolean): void {
    if (!this.watches.delete(w)) return;
    w.unsubscribe();
    clearTimeout(w.timer);
    if (abrupt) w.res.socket?.destroy();
    else w.res.end();
  }
}

function withKind(n: NodeObject): NodeObject {
  return { kind: 'Node', apiVersion: 'v1', ...n };
}

function notFound(resource: string, name: string) {
  return statusBody(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  req.setEncoding('utf8');
  for await (const chunk of req) body += chunk as string;
  return body;
}
