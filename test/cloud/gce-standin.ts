/**
 * A stand-in for the Compute Engine API v1 (the REST calls flannel-ts's gce backend makes) and the
 * GCE metadata server, on one listener, as a StandinFactory (see standin-app.ts). References:
 *   [REST]   Compute Engine API v1 reference, https://cloud.google.com/compute/docs/reference/rest/v1
 *            routes.list / get / insert / delete, globalOperations.get / wait, instances.get,
 *            networks.get (paths under /compute/v1/projects/{project}/...).
 *   [LIST]   routes.list: `filter` ("field operator literal", operators = != eq ne), `maxResults`
 *            (default and max 500), `pageToken` / `nextPageToken`; a RouteList {kind, id, items, selfLink}.
 *   [OP]     Operation resource: status PENDING -> RUNNING -> DONE; a failed operation is DONE with
 *            `error.errors[] {code, message}` (e.g. QUOTA_EXCEEDED); globalOperations.wait returns
 *            when the operation is DONE or at its deadline (2 minutes; here `waitMs`), maybe not DONE.
 *   [ERR]    Errors: {error: {code, message, errors: [{message, domain, reason}], status, details}}
 *            (https://cloud.google.com/compute/docs/api/handle-api-errors): 404 notFound, 409
 *            alreadyExists, 403 forbidden ("Required 'PERM' permission for 'RESOURCE'"), 401 authError,
 *            403 insufficientPermissions (ACCESS_TOKEN_SCOPE_INSUFFICIENT), 429 rateLimitExceeded
 *            (RESOURCE_EXHAUSTED, ErrorInfo RATE_LIMIT_EXCEEDED), 503 backendError.
 *   [QUOTA]  Resource quotas (https://cloud.google.com/compute/resource-usage): the project's ROUTES
 *            quota; an insert beyond it ends in an operation error QUOTA_EXCEEDED "Quota 'ROUTES'
 *            exceeded.  Limit: N globally." (flannel's docs: 100 routes per project by default).
 *   [META]   Metadata server (https://cloud.google.com/compute/docs/metadata/querying-metadata):
 *            GET /computeMetadata/v1/<key>; requests without `Metadata-Flavor: Google` or with
 *            X-Forwarded-For are refused (403); answers carry `Metadata-Flavor: Google`; keys
 *            project/project-id, project/numeric-project-id, instance/name, instance/hostname,
 *            instance/zone, instance/id, instance/network-interfaces/0/{network,ip},
 *            instance/service-accounts/default/{email,scopes,token} (token: JSON access_token,
 *            expires_in, token_type; 404 when the instance has no service account).
 *   [AUTH]   OAuth 2.0 bearer tokens (RFC 6750); a token is good for the compute API only if issued
 *            with the compute or cloud-platform scope (https://cloud.google.com/compute/docs/access/service-accounts#accesscopesiam).
 *   zoneOperations are not served: routes are global resources, their operations global ones.
 *
 * Options (strings): project (flannel-test), projectNumber (123456789012), networks (default;
 * comma list, the first is each instance's nic0 network), instances (comma list of
 * name@zone@ip[@scope|scope...]; the metadata server answers as the instance whose ip the request
 * comes from, else as the first; default host-1@us-central1-a@127.0.0.1), scopes (comma list, default
 * https://www.googleapis.com/auth/compute; "none" = no service account), deny (IAM permissions
 * refused, comma list), quota (ROUTES quota, 250), pageSize (500), opStepMs (20), waitMs (1000).
 *
 * Control (JSON over HTTP, separate listener):
 *   GET  /state   {routes:[Route], calls:{method:n}, answered:{status:n}}
 *   POST /fault {kind, count?, ms?}
 *        kind "throttle": the next `count` API calls answer 429 rateLimitExceeded [ERR]
 *        kind "http5xx":  the next `count` API calls answer 503 backendError [ERR]
 *        kind "outage":   for `ms` every API connection is reset without an answer (the metadata
 *                         server, which is on the host, keeps answering)
 *        kind "clear":    all faults off
 *   POST /quota {limit}                      the ROUTES quota from now on [QUOTA]
 *   POST /routes/delete {name}               delete a route by hand
 *   POST /routes/add {name, destRange, network?, nextHopInstance? | nextHopIp? | nextHopGateway?, priority?}
 *   POST /credentials/revoke {}              every token issued so far is rejected (401) from now on
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandinApp, StandinFactory } from './standin-app.js';
import { readBodyText } from './request-body.js';

const API_ROOT = 'https://www.googleapis.com/compute/v1/';
const COMPUTE_SCOPES = ['https://www.googleapis.com/auth/compute', 'https://www.googleapis.com/auth/cloud-platform'];

export interface GceStandinRoute {
  kind: 'compute#route';
  id: string;
  creationTimestamp: string;
  name: string;
  network: string;
  destRange: string;
  priority: number;
  nextHopInstance?: string;
  nextHopIp?: string;
  nextHopGateway?: string;
  tags?: string[];
  selfLink: string;
}

export interface GceStandinState {
  routes: GceStandinRoute[];
  calls: Record<string, number>;
  answered: Record<string, number>;
}

interface Instance {
  name: string;
  zone: string;
  ip: string;
  id: string;
  /** Its service account's scopes; undefined = the stand-in's `scopes` option. */
  scopes?: string[];
}

interface Operation {
  name: string;
  id: string;
  operationType: 'insert' | 'delete';
  targetLink: string;
  insertTime: number;
  /** Applies the change when the operation completes; returns its errors (none = success). */
  apply: () => { code: string; message: string }[];
  done?: { errors: { code: string; message: string }[]; endTime: number };
}

class ApiError extends Error {
  constructor(
    readonly http: number,
    readonly status: string,
    readonly reason: string,
    message: string,
    readonly errorInfo?: string,
  ) {
    super(message);
  }
}

export const createStandin: StandinFactory = (options) => new GceStandin(options);
export default createStandin;

export class GceStandin implements StandinApp {
  private readonly project: string;
  private readonly projectNumber: string;
  private readonly networks: string[];
  private readonly instances: Instance[];
  private readonly scopes: string[] | undefined;
  private readonly deny: Set<string>;
  private quota: number;
  private readonly pageSize: number;
  private readonly opStepMs: number;
  private readonly waitMs: number;
  private readonly routes = new Map<string, GceStandinRoute>();
  private readonly operations = new Map<string, Operation>();
  private readonly tokens = new Map<string, string[]>();
  private readonly calls: Record<string, number> = {};
  private readonly answered: Record<string, number> = {};
  private fault: { kind: 'throttle' | 'http5xx'; count: number } | undefined;
  private outageUntil = 0;
  private nextId = 1000;

  /** `now` is the stand-in's clock (operations' progress, outages): a test may run it ahead. */
  constructor(
    o: Readonly<Record<string, string>>,
    private readonly now: () => number = Date.now,
  ) {
    this.project = o['project'] ?? 'flannel-test';
    this.projectNumber = o['projectNumber'] ?? '123456789012';
    this.networks = (o['networks'] ?? 'default').split(',').filter(Boolean);
    this.instances = (o['instances'] ?? 'host-1@us-central1-a@127.0.0.1').split(',').map((spec) => {
      const [name = '', zone = '', ip = '', scopes] = spec.split('@');
      return { name, zone, ip, id: String(this.nextId++), ...(scopes ? { scopes: scopes.split('|') } : {}) };
    });
    const scopes = o['scopes'] ?? COMPUTE_SCOPES[0]!;
    this.scopes = scopes === 'none' ? undefined : scopes.split(',');
    this.deny = new Set((o['deny'] ?? '').split(',').filter(Boolean));
    this.quota = Number(o['quota'] ?? 250);
    this.pageSize = Math.min(500, Number(o['pageSize'] ?? 500));
    this.opStepMs = Number(o['opStepMs'] ?? 20);
    this.waitMs = Number(o['waitMs'] ?? 1000);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (url.pathname.startsWith('/computeMetadata/')) {
      this.metadata(req, res, url);
      return;
    }
    if (this.now() < this.outageUntil) {
      req.socket.destroy();
      return;
    }
    void readBodyText(req).then(
      (body) => this.api(req, res, url, body),
      () => res.destroy(),
    );
  }

  // ---- metadata server [META] ----

  private metadata(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const send = (status: number, body: string, type = 'application/text') => {
      res.writeHead(status, { 'Metadata-Flavor': 'Google', 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.headers['metadata-flavor'] !== 'Google' || req.headers['x-forwarded-for'] !== undefined) {
      send(403, 'Missing Metadata-Flavor:Google header.');
      return;
    }
    const inst = this.instanceFor(req);
    const key = url.pathname.slice('/computeMetadata/v1/'.length).replace(/\/$/, '');
    const net = this.networks[0] ?? 'default';
    const values: Record<string, string> = {
      instance: 'attributes/\nhostname\nid\nname\nnetwork-interfaces/\nservice-accounts/\nzone\n',
      'project/project-id': this.project,
      'project/numeric-project-id': this.projectNumber,
      'instance/name': inst.name,
      'instance/id': inst.id,
      'instance/hostname': `${inst.name}.${inst.zone}.c.${this.project}.internal`,
      'instance/zone': `projects/${this.projectNumber}/zones/${inst.zone}`,
      'instance/network-interfaces/0/network': `projects/${this.projectNumber}/networks/${net}`,
      'instance/network-interfaces/0/ip': inst.ip,
    };
    const scopes = inst.scopes ?? this.scopes;
    if (scopes) {
      values['instance/service-accounts/default/email'] = `${this.projectNumber}-compute@developer.gserviceaccount.com`;
      values['instance/service-accounts/default/scopes'] = scopes.join('\n');
    }
    if (key === 'instance/service-accounts/default/token' && scopes) {
      const token = `ya29.standin-${randomBytes(12).toString('hex')}`;
      this.tokens.set(token, scopes);
      send(200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }), 'application/json');
      return;
    }
    const v = values[key];
    if (v === undefined) send(404, 'Not Found');
    else send(200, v);
  }

  private instanceFor(req: IncomingMessage): Instance {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    return this.instances.find((i) => i.ip === from) ?? this.instances[0]!;
  }

  // ---- Compute API [REST] ----

  private api(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    let method = 'unknown';
    try {
      const m = /^\/compute\/v1\/projects\/([^/]+)\/(.+)$/.exec(url.pathname);
      if (!m) throw new ApiError(404, 'NOT_FOUND', 'notFound', `The requested URL ${url.pathname} was not found on this server.`);
      const [, project = '', rest = ''] = m;
      const route = this.match(req.method ?? 'GET', rest);
      method = route.method;
      this.calls[method] = (this.calls[method] ?? 0) + 1;
      this.authorize(req);
      if (this.fault && this.fault.count > 0) {
        this.fault.count--;
        if (this.fault.kind === 'throttle') {
          throw new ApiError(
            429,
            'RESOURCE_EXHAUSTED',
            'rateLimitExceeded',
            `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:${this.projectNumber}'.`,
            'RATE_LIMIT_EXCEEDED',
          );
        }
        throw new ApiError(503, 'UNAVAILABLE', 'backendError', 'The service is currently unavailable.');
      }
      if (project !== this.project) throw new ApiError(404, 'NOT_FOUND', 'notFound', `The resource 'projects/${project}' was not found`);
      const permission = PERMISSIONS[method];
      if (permission && this.deny.has(permission)) {
        throw new ApiError(403, 'PERMISSION_DENIED', 'forbidden', `Required '${permission}' permission for 'projects/${project}/${rest}'`);
      }
      const send = (result: unknown) => this.reply(res, 200, result);
      if (method === 'compute.globalOperations.wait') {
        void this.waitOp(route.args[0]!).then(send, (err: unknown) => this.replyError(res, err));
        return;
      }
      send(route.run(url, body));
    } catch (err) {
      this.replyError(res, err);
    }
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    this.answered[String(status)] = (this.answered[String(status)] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private replyError(res: ServerResponse, err: unknown): void {
    if (!(err instanceof ApiError)) {
      this.reply(res, 500, { error: { code: 500, message: String(err), errors: [{ message: String(err), domain: 'global', reason: 'backendError' }], status: 'INTERNAL' } });
      return;
    }
    const details = err.errorInfo ? [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: err.errorInfo, domain: 'googleapis.com', metadata: { service: 'compute.googleapis.com' } }] : undefined;
    this.reply(res, err.http, {
      error: { code: err.http, message: err.message, errors: [{ message: err.message, domain: 'global', reason: err.reason }], status: err.status, ...(details ? { details } : {}) },
    });
  }

  /** [AUTH] Bearer token issued by the metadata server, not revoked, with a compute scope. */
  private authorize(req: IncomingMessage): void {
    const m = /^Bearer (\S+)$/.exec(req.headers['authorization'] ?? '');
    const scopes = m ? this.tokens.get(m[1]!) : undefined;
    if (!scopes) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    }
    if (!scopes.some((s) => COMPUTE_SCOPES.includes(s))) {
      throw new ApiError(403, 'PERMISSION_DENIED', 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'ACCESS_TOKEN_SCOPE_INSUFFICIENT');
    }
  }

  private match(verb: string, rest: string): { method: string; args: string[]; run: (url: URL, body: string) => unknown } {
    const table: [string, RegExp, string, (args: string[], url: URL, body: string) => unknown][] = [
      ['GET', /^global\/routes$/, 'compute.routes.list', (_a, url) => this.listRoutes(url)],
      ['POST', /^global\/routes$/, 'compute.routes.insert', (_a, _u, body) => this.insertRoute(body)],
      ['GET', /^global\/routes\/([^/]+)$/, 'compute.routes.get', ([n]) => this.getRoute(n!)],
      ['DELETE', /^global\/routes\/([^/]+)$/, 'compute.routes.delete', ([n]) => this.deleteRoute(n!)],
      ['GET', /^global\/operations\/([^/]+)$/, 'compute.globalOperations.get', ([n]) => this.opView(this.op(n!))],
      ['POST', /^global\/operations\/([^/]+)\/wait$/, 'compute.globalOperations.wait', () => undefined],
      ['GET', /^global\/networks\/([^/]+)$/, 'compute.networks.get', ([n]) => this.getNetwork(n!)],
      ['GET', /^zones\/([^/]+)\/instances\/([^/]+)$/, 'compute.instances.get', ([z, n]) => this.getInstance(z!, n!)],
    ];
    for (const [v, re, method, run] of table) {
      const m = re.exec(rest);
      if (m && v === verb) {
        const args = m.slice(1).map(decodeURIComponent);
        return { method, args, run: (url, body) => run(args, url, body) };
      }
    }
    throw new ApiError(404, 'NOT_FOUND', 'notFound', `The requested URL ${verb} /compute/v1/projects/${this.project}/${rest} was not found on this server.`);
  }

  private link(path: string): string {
    return `${API_ROOT}projects/${this.project}/${path}`;
  }

  private getNetwork(name: string): unknown {
    if (!this.networks.includes(name)) throw notFound(`projects/${this.project}/global/networks/${name}`);
    return { kind: 'compute#network', id: idOf(name), name, selfLink: this.link(`global/networks/${name}`), autoCreateSubnetworks: true, routingConfig: { routingMode: 'REGIONAL' } };
  }

  private getInstance(zone: string, name: string): unknown {
    const inst = this.instances.find((i) => i.name === name && i.zone === zone);
    if (!inst) throw notFound(`projects/${this.project}/zones/${zone}/instances/${name}`);
    return {
      kind: 'compute#instance',
      id: inst.id,
      name,
      zone: this.link(`zones/${zone}`),
      status: 'RUNNING',
      canIpForward: true,
      networkInterfaces: [{ name: 'nic0', network: this.link(`global/networks/${this.networks[0] ?? 'default'}`), networkIP: inst.ip }],
      selfLink: this.link(`zones/${zone}/instances/${name}`),
    };
  }

  /** [LIST] */
  private listRoutes(url: URL): unknown {
    const filter = url.searchParams.get('filter');
    const pred = filter ? parseFilter(filter) : () => true;
    const all = [...this.routes.values()].filter((r) => pred(r as unknown as Record<string, unknown>)).sort((a, b) => a.name.localeCompare(b.name));
    const max = Math.min(this.pageSize, Number(url.searchParams.get('maxResults') ?? 500) || 500);
    const token = url.searchParams.get('pageToken');
    const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new ApiError(400, 'INVALID_ARGUMENT', 'invalid', 'Invalid value for field \'pageToken\'.');
    const items = all.slice(start, start + max);
    const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
    return { kind: 'compute#routeList', id: `projects/${this.project}/global/routes`, items, selfLink: this.link('global/routes'), ...(next ? { nextPageToken: next } : {}) };
  }

  private getRoute(name: string): GceStandinRoute {
    const r = this.routes.get(name);
    if (!r) throw notFound(`projects/${this.project}/global/routes/${name}`);
    return r;
  }

  private insertRoute(body: string): unknown {
    let r: Partial<GceStandinRoute>;
    try {
      r = JSON.parse(body) as Partial<GceStandinRoute>;
    } catch {
      throw new ApiError(400, 'INVALID_ARGUMENT', 'parseError', 'Parse Error');
    }
    const name = r.name ?? '';
    if (!/^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw invalid(`Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`);
    if (!r.destRange || !/^[0-9a-f.:]+\/\d+$/i.test(r.destRange)) throw invalid(`Invalid value for field 'resource.destRange': '${r.destRange ?? ''}'.`);
    const netName = r.network?.startsWith(this.link('global/networks/')) ? r.network.slice(this.link('global/networks/').length) : undefined;
    if (!netName || !this.networks.includes(netName)) throw notFound(`${r.network ?? '(no network)'}`);
    const hops = [r.nextHopInstance, r.nextHopIp, r.nextHopGateway].filter((h) => h !== undefined && h !== '');
    if (hops.length !== 1) throw invalid('Exactly one next hop must be specified.');
    if (r.nextHopInstance && !this.instances.some((i) => this.link(`zones/${i.zone}/instances/${i.name}`) === r.nextHopInstance)) {
      throw notFound(r.nextHopInstance);
    }
    if (this.routes.has(name)) throw new ApiError(409, 'ALREADY_EXISTS', 'alreadyExists', `The resource 'projects/${this.project}/global/routes/${name}' already exists`);
    const route: GceStandinRoute = {
      kind: 'compute#route',
      id: String(this.nextId++),
      creationTimestamp: new Date().toISOString(),
      name,
      network: r.network!,
      destRange: r.destRange,
      priority: r.priority ?? 1000,
      ...(r.nextHopInstance ? { nextHopInstance: r.nextHopInstance } : {}),
      ...(r.nextHopIp ? { nextHopIp: r.nextHopIp } : {}),
      ...(r.nextHopGateway ? { nextHopGateway: r.nextHopGateway } : {}),
      ...(r.tags && r.tags.length > 0 ? { tags: r.tags } : {}),
      selfLink: this.link(`global/routes/${name}`),
    };
    return this.opView(
      this.startOp('insert', route.selfLink, () => {
        if (this.routes.size >= this.quota) return [{ code: 'QUOTA_EXCEEDED', message: `Quota 'ROUTES' exceeded.  Limit: ${this.quota.toFixed(1)} globally.` }];
        if (this.routes.has(name)) return [{ code: 'ALREADY_EXISTS', message: `The resource '${route.selfLink}' already exists` }];
        this.routes.set(name, route);
        return [];
      }),
    );
  }

  private deleteRoute(name: string): unknown {
    const r = this.getRoute(name);
    return this.opView(
      this.startOp('delete', r.selfLink, () => {
        if (!this.routes.delete(name)) return [{ code: 'RESOURCE_NOT_FOUND', message: `The resource '${r.selfLink}' was not found` }];
        return [];
      }),
    );
  }

  // ---- operations [OP] ----

  private startOp(operationType: Operation['operationType'], targetLink: string, apply: Operation['apply']): Operation {
    const id = String(this.nextId++);
    const op: Operation = { name: `operation-${this.now()}-${randomBytes(6).toString('hex')}`, id, operationType, targetLink, insertTime: this.now(), apply };
    this.operations.set(op.name, op);
    return op;
  }

  private op(name: string): Operation {
    const op = this.operations.get(name);
    if (!op) throw notFound(`projects/${this.project}/global/operations/${name}`);
    return op;
  }

  /** PENDING for one step, RUNNING for one more, then DONE (the change applied at that moment). */
  private statusOf(op: Operation): 'PENDING' | 'RUNNING' | 'DONE' {
    if (op.done) return 'DONE';
    const age = this.now() - op.insertTime;
    if (age < this.opStepMs) return 'PENDING';
    if (age < 2 * this.opStepMs) return 'RUNNING';
    op.done = { errors: op.apply(), endTime: this.now() };
    return 'DONE';
  }

  private opView(op: Operation): unknown {
    const status = this.statusOf(op);
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      operationType: op.operationType,
      targetLink: op.targetLink,
      status,
      progress: status === 'DONE' ? 100 : 0,
      insertTime: new Date(op.insertTime).toISOString(),
      ...(op.done ? { endTime: new Date(op.done.endTime).toISOString() } : {}),
      ...(op.done && op.done.errors.length > 0 ? { error: { errors: op.done.errors }, httpErrorStatusCode: 403, httpErrorMessage: 'FORBIDDEN' } : {}),
      selfLink: this.link(`global/operations/${op.name}`),
    };
  }

  private async waitOp(name: string): Promise<unknown> {
    const op = this.op(name);
    const until = Date.now() + this.waitMs;
    while (this.statusOf(op) !== 'DONE' && Date.now() < until) await new Promise((r) => setTimeout(r, Math.max(1, Math.min(this.opStepMs, 20))));
    return this.opView(op);
  }

  // ---- control ----

  /** What GET /state answers, for in-process tests. */
  state(): GceStandinState {
    return { routes: [...this.routes.values()].sort((a, b) => a.name.localeCompare(b.name)), calls: { ...this.calls }, answered: { ...this.answered } };
  }

  control(req: IncomingMessage, res: ServerResponse): void {
    void readBodyText(req).then((text) => {
      const send = (status: number, body: unknown) => {
        const t = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(t) });
        res.end(t);
      };
      try {
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const path = new URL(req.url ?? '/', 'http://control').pathname;
        if (req.method === 'GET' && path === '/state') {
          send(200, this.state());
        } else if (req.method === 'POST' && path === '/fault') {
          const kind = body['kind'];
          if (kind === 'throttle' || kind === 'http5xx') this.fault = { kind, count: Number(body['count'] ?? 1) };
          else if (kind === 'outage') this.outageUntil = this.now() + Number(body['ms'] ?? 0);
          else if (kind === 'clear') {
            this.fault = undefined;
            this.outageUntil = 0;
          } else throw new Error(`unknown fault kind ${JSON.stringify(kind)}`);
          send(200, {});
        } else if (req.method === 'POST' && path === '/quota') {
          this.quota = Number(body['limit']);
          send(200, {});
        } else if (req.method === 'POST' && path === '/routes/delete') {
          send(200, { deleted: this.routes.delete(String(body['name'])) });
        } else if (req.method === 'POST' && path === '/routes/add') {
          const name = String(body['name']);
          const network = typeof body['network'] === 'string' ? body['network'] : this.link(`global/networks/${this.networks[0] ?? 'default'}`);
          const route: GceStandinRoute = {
            kind: 'compute#route',
            id: String(this.nextId++),
            creationTimestamp: new Date().toISOString(),
            name,
            network: network.includes('/') ? network : this.link(`global/networks/${network}`),
            destRange: String(body['destRange']),
            priority: Number(body['priority'] ?? 1000),
            selfLink: this.link(`global/routes/${name}`),
          };
          for (const k of ['nextHopInstance', 'nextHopIp', 'nextHopGateway'] as const) if (typeof body[k] === 'string') route[k] = body[k];
          this.routes.set(name, route);
          send(200, route);
        } else if (req.method === 'POST' && path === '/credentials/revoke') {
          this.tokens.clear();
          send(200, {});
        } else send(404, { error: `no control ${req.method ?? ''} ${path}` });
      } catch (err) {
        send(400, { error: (err as Error).message });
      }
    });
  }
}

/** The IAM permission each method checks ([REST], "IAM Permissions" of each method page). */
const PERMISSIONS: Readonly<Record<string, string>> = {
  'compute.routes.list': 'compute.routes.list',
  'compute.routes.get': 'compute.routes.get',
  'compute.routes.insert': 'compute.routes.create',
  'compute.routes.delete': 'compute.routes.delete',
  'compute.globalOperations.get': 'compute.globalOperations.get',
  'compute.globalOperations.wait': 'compute.globalOperations.get',
  'compute.networks.get': 'compute.networks.get',
  'compute.instances.get': 'compute.instances.get',
};

function notFound(resource: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', 'notFound', `The resource '${resource}' was not found`);
}

function invalid(message: string): ApiError {
  return new ApiError(400, 'INVALID_ARGUMENT', 'invalid', message);
}

function idOf(name: string): string {
  let h = 7n;
  for (const c of name) h = (h * 131n + BigInt(c.charCodeAt(0))) % 10n ** 18n;
  return h.toString();
}

/**
 * [LIST] The filter grammar's single-comparison form: `field = "literal"`, `field != literal`,
 * `field eq regex`, `field ne regex` (eq/ne match the whole value as an RE2 regular expression).
 */
function parseFilter(filter: string): (r: Record<string, unknown>) => boolean {
  const m = /^\s*\(?\s*([a-zA-Z][a-zA-Z0-9_]*)\s*(=|!=|eq|ne)\s*("(?:[^"\\]|\\.)*"|\S+)\s*\)?\s*$/.exec(filter);
  if (!m) throw new ApiError(400, 'INVALID_ARGUMENT', 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`);
  const [, field = '', op = '', rawLit = ''] = m;
  const lit = rawLit.startsWith('"') ? (JSON.parse(rawLit) as string) : rawLit;
  const test = op === 'eq' || op === 'ne' ? (v: string) => new RegExp(`^(?:${lit})$`).test(v) : (v: string) => v === lit;
  const negate = op === '!=' || op === 'ne';
  return (r) => test(String(r[field] ?? '')) !== negate;
}
